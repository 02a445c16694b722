/**
 * A proposed change applied to a copy of the current document and validated exactly as the
 * config manager would (the same edits from mutations.ts, configDocument + validateConfig),
 * but never stored or published. Errors are the mutation's own: NOT_FOUND and
 * FAILED_PRECONDITION from the edit, INVALID_ARGUMENT with every `path: message`; paths that
 * point into the request are put under `field` (the WhatIfRequest member that carried it).
 */
import { configDocument, validateConfig, type FieldError } from '../config';
import type { TetherConfig } from '../model/types';
import { rewritePaths } from './document';
import { TetherError } from '../config/errors';
import type { ConfigDocument, DocumentEdit } from './types';

export type ProposedChange =
  | { edit: DocumentEdit; field: string }
  | { document: unknown; field: string };

export interface Proposal {
  document: ConfigDocument;
  config: TetherConfig;
}

const under = (field: string, path: string): string => (path === '' ? field : path.startsWith('[') ? `${field}${path}` : `${field}.${path}`);

export function proposeConfig(current: ConfigDocument, change: ProposedChange): Proposal {
  let built: unknown;
  let rewrites: Array<{ from: string; to: string }> = [];
  if ('edit' in change) {
    try {
      built = change.edit.apply(current);
    } catch (err) {
      if (err instanceof TetherError && err.code === 'INVALID_ARGUMENT') {
        throw TetherError.invalid(err.fieldErrors.map((e) => ({ ...e, path: under(change.field, e.path) })), 'invalid request');
      }
      throw err;
    }
  } else {
    built = change.document;
  }
  const plain = configDocument(built);
  if (!plain.ok) throw TetherError.invalid(plain.errors);
  if ('edit' in change) rewrites = (change.edit.errorPaths?.(plain.document) ?? []).map((r) => ({ from: r.from, to: under(change.field, r.to) }));
  const result = validateConfig(plain.document);
  if (!result.ok) throw TetherError.invalid(rewritePaths(result.errors as FieldError[], rewrites));
  return { document: plain.document, config: result.config };
}
