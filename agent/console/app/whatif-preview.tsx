import { useEffect, useState } from 'preact/hooks';
import { ApiError, post } from './api';
import { formatCount } from './ui';

/** POST /v1/whatif's answer, as much of it as the previews show. */
export interface WhatIfReport {
  readonly calls: number;
  readonly changed: number;
  readonly transitions: readonly { readonly before: string; readonly after: string; readonly calls: number }[];
  readonly atRisk: { readonly calls: number; readonly answered: number; readonly passedChallenge: number; readonly allowedByRule: number };
}

/** Verdicts that let a call through (flag: marked as suspected spam). */
const THROUGH = new Set(['allow', 'flag']);
/** How long the proposal must stay still before it is replayed (a slider is dragged through many values). */
const SETTLE_MS = 400;
export const PREVIEW_PERIOD = '7d';

/** Calls the change would hold back (stop, challenge, send elsewhere) that went through before, and the other way round. */
export function heldBack(report: WhatIfReport): { more: number; fewer: number } {
  let more = 0;
  let fewer = 0;
  for (const { before, after, calls } of report.transitions) {
    if (THROUGH.has(before) && !THROUGH.has(after)) more += calls;
    if (!THROUGH.has(before) && THROUGH.has(after)) fewer += calls;
  }
  return { more, fewer };
}

type Preview = { readonly state: 'idle' | 'asking' | 'no-calls' | 'failed' } | { readonly state: 'done'; readonly report: WhatIfReport };

/**
 * What a change not yet saved would have done to the calls of the last 7 days, replayed by
 * the agent (`callguard whatif`): asked once the proposal has settled, the answer to an
 * older proposal dropped. `proposal` null: nothing to try.
 */
export function useWhatIf(proposal: Record<string, unknown> | null): Preview {
  const [preview, setPreview] = useState<Preview>({ state: 'idle' });
  const key = proposal === null ? null : JSON.stringify(proposal);
  useEffect(() => {
    if (key === null) {
      setPreview({ state: 'idle' });
      return;
    }
    let current = true;
    setPreview({ state: 'asking' });
    const timer = setTimeout(() => {
      post<WhatIfReport>('/v1/whatif', { since: PREVIEW_PERIOD, ...(JSON.parse(key) as Record<string, unknown>) }).then(
        (report) => current && setPreview({ state: 'done', report }),
        (error: unknown) => current && setPreview({ state: error instanceof ApiError && error.field === 'since' ? 'no-calls' : 'failed' }),
      );
    }, SETTLE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key]);
  return preview;
}

/** One quiet line under a form: what the change would have done, or why it cannot say. */
export function WhatIfLine({ preview, describe }: { preview: Preview; describe: (report: WhatIfReport) => string }) {
  if (preview.state === 'idle' || preview.state === 'failed') return null;
  const text = preview.state === 'done' ? describe(preview.report) : preview.state === 'asking' ? 'Replaying the last 7 days…' : 'No calls logged in the last 7 days to try it on.';
  const risky = preview.state === 'done' && preview.report.atRisk.calls > 0;
  return (
    <p class={`whatif hint${risky ? ' risky' : ''}`} role="status" aria-live="polite" data-whatif={preview.state}>
      {text}
    </p>
  );
}

/** "N of them had been answered or passed a challenge", for the calls the change would newly stop. */
export function atRiskWords(report: WhatIfReport): string {
  const { answered, passedChallenge, allowedByRule } = report.atRisk;
  if (report.atRisk.calls === 0) return 'none of them had been answered or passed a challenge';
  const parts = [answered && `${formatCount(answered)} answered`, passedChallenge && `${formatCount(passedChallenge)} passed a challenge`, allowedByRule && `${formatCount(allowedByRule)} allowed by a rule`].filter(Boolean);
  return `${formatCount(report.atRisk.calls)} of the calls it would stop had been let through before (${parts.join(', ')})`;
}
