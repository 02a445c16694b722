/**
 * Checks a shared config history against what clients were told (issue 15, proof 5): every
 * acknowledged edit is in the history exactly once at the version it was told, versions are
 * contiguous, each winner was built on the head it saw (version = base + 1), and nothing
 * refused (ABORTED) was written anyway.
 */
import type { VersionRecord } from '../../src/store/types';

export interface Attempt {
  /** Unique text the edit carried in its description. */
  tag: string;
  /** The version the client sent as expected (the head it saw), when it sent one. */
  base?: number;
  /** The version the edit was acknowledged as. */
  acked?: number;
  aborted?: boolean;
  /** The outcome is unknown (UNAVAILABLE, connection lost): may or may not be in the history. */
  unknown?: boolean;
  unchanged?: boolean;
}

export interface HistoryCheck {
  problems: string[];
  acknowledged: number;
  aborted: number;
  unchanged: number;
}

/** `records[i]` must hold version i + 1 (a history read from version 1 on). */
export function checkHistory(attempts: readonly Attempt[], records: readonly (VersionRecord | undefined)[]): HistoryCheck {
  const problems: string[] = [];
  const byTag = new Map<string, number[]>();
  records.forEach((r, i) => {
    if (!r) return problems.push(`version ${i + 1} is missing`);
    if (r.version !== i + 1) problems.push(`position ${i + 1} holds version ${r.version}`);
    const m = /\b(w\d+-e\d+|r\d+-e\d+)\b/.exec(r.description);
    if (m) byTag.set(m[1]!, [...(byTag.get(m[1]!) ?? []), r.version]);
  });
  const tags = new Set(attempts.map((a) => a.tag));
  for (const a of attempts) {
    const found = byTag.get(a.tag) ?? [];
    if (a.acked !== undefined) {
      if (found.length !== 1 || found[0] !== a.acked) problems.push(`${a.tag}: acknowledged as v${a.acked}, history has it at [${found.join(', ')}]`);
      if (a.base !== undefined && a.acked !== a.base + 1) problems.push(`${a.tag}: acknowledged as v${a.acked} but built on v${a.base}`);
    } else if (a.aborted || a.unchanged) {
      if (found.length > 0) problems.push(`${a.tag}: refused, yet in the history at [${found.join(', ')}]`);
    } else if (found.length > 1) {
      problems.push(`${a.tag}: outcome unknown, in the history ${found.length} times`);
    }
  }
  for (const tag of byTag.keys()) if (!tags.has(tag)) problems.push(`${tag}: in the history, never attempted`);
  return {
    problems,
    acknowledged: attempts.filter((a) => a.acked !== undefined).length,
    aborted: attempts.filter((a) => a.aborted).length,
    unchanged: attempts.filter((a) => a.unchanged).length,
  };
}
