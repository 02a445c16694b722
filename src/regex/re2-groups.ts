import { addRangeFlags, negate, type Range, RUNE_MAX } from './re2-node';

/** Perl classes (\d \s \w and negations): RE2's table; note \s has no \v. */
export const PERL_GROUPS: Record<string, { sign: 1 | -1; ranges: Range[] }> = {
  '\\d': { sign: 1, ranges: [[0x30, 0x39]] },
  '\\s': { sign: 1, ranges: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]] },
  '\\w': { sign: 1, ranges: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]] },
};
for (const k of ['d', 's', 'w']) PERL_GROUPS[`\\${k.toUpperCase()}`] = { sign: -1, ranges: PERL_GROUPS[`\\${k}`]!.ranges };

const POSIX: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** `[:name:]` or `[:^name:]`, as RE2 spells them. */
export function posixGroup(spelled: string): { sign: 1 | -1; ranges: Range[] } | undefined {
  const m = /^\[:(\^?)([a-z]+):\]$/.exec(spelled);
  const ranges = m ? POSIX[m[2]!] : undefined;
  return ranges && { sign: m![1] ? -1 : 1, ranges };
}

// The names RE2 (2024) accepts after \p: general categories, scripts and "Any". Only their
// members up to U+00FF matter in Latin-1 mode; those come from the JS engine's Unicode data
// (the same for 0-FF in every Unicode version since 1.1).
const CATEGORIES = 'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs';
const SCRIPTS =
  'Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali Bhaiksuki Bopomofo ' +
  'Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common ' +
  'Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs ' +
  'Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul ' +
  'Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited Inscriptional_Pahlavi Inscriptional_Parthian ' +
  'Javanese Kaithi Kannada Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha ' +
  'Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi ' +
  'Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar ' +
  'Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian ' +
  'Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage ' +
  'Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra ' +
  'Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog ' +
  'Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Toto Ugaritic ' +
  'Vai Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square';
const CATEGORY_SET = new Set(CATEGORIES.split(' '));
const SCRIPT_SET = new Set(SCRIPTS.split(' '));

const latin1Members = new Map<string, Range[]>();

/** The group's ranges within 0-FF, or undefined for a name RE2 does not know. */
export function unicodeGroupLatin1(name: string): Range[] | undefined {
  if (name === 'Any') return [[0, RUNE_MAX]];
  const isCategory = CATEGORY_SET.has(name);
  if (!isCategory && !SCRIPT_SET.has(name)) return undefined;
  let ranges = latin1Members.get(name);
  if (!ranges) {
    ranges = [];
    // Outside Latin and Common no script has a code point below U+0100.
    if (isCategory || name === 'Latin' || name === 'Common' || name === 'Inherited') {
      const re = new RegExp(isCategory ? `\\p{gc=${name}}` : `\\p{sc=${name}}`, 'u');
      for (let c = 0; c <= 0xff; c++) if (re.test(String.fromCharCode(c))) addRangeFlags(ranges, c, c, 0);
    }
    latin1Members.set(name, ranges);
  }
  return ranges;
}

/** AddUGroup: a group's ranges, or their complement, into cc under the given flags. */
export function addGroup(cc: Range[], ranges: Range[], sign: 1 | -1, flags: number): void {
  if (sign === 1) {
    for (const [lo, hi] of ranges) addRangeFlags(cc, lo, hi, flags);
    return;
  }
  // A negated group excludes \n when the flags cut it (never under Envoy's ClassNL); folding
  // first and negating after is what RE2 does under (?i).
  const base: Range[] = [];
  for (const [lo, hi] of ranges) addRangeFlags(base, lo, hi, flags);
  for (const [lo, hi] of negate(base)) addRangeFlags(cc, lo, hi, flags & ~1);
}
