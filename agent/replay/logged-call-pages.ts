import type { CallLogBackend } from '../store/call-log-backend';
import type { LoggedCallPages } from './replay';

/** Calls read from the log per page. */
const PAGE_ROWS = 5_000;

/** A replay's calls from the call log of either backend, a page at a time (by time, then id: none skipped or repeated). */
export function loggedCallPages(calls: CallLogBackend): LoggedCallPages {
  return async function* (range) {
    let after: { at: number; id: number } | null = null;
    for (;;) {
      const page = await calls.replayPage(range, after, PAGE_ROWS);
      if (page.length > 0) yield page;
      if (page.length < PAGE_ROWS) return;
      const last = page[page.length - 1]!;
      after = { at: last.at, id: last.id };
    }
  };
}
