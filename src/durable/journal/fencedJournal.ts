/**
 * A run's view of the shared journal writer: every entry it appends carries
 * the run's lease fence, so the store refuses it once another owner took the
 * execution over (a frozen or partitioned run never writes after a takeover).
 */
import type { JournalAppender, LeaseFence } from '../model/journal';

export function fencedJournal(journal: JournalAppender, fence: LeaseFence): JournalAppender {
  return {
    appendBuffered: (entry) => journal.appendBuffered({ ...entry, fence }),
    appendAcked: (entry, signal) => journal.appendAcked({ ...entry, fence }, signal),
    flush: () => journal.flush(),
  };
}
