import { useState } from 'preact/hooks';
import { get, put } from '../api';
import type { Decision } from '../api';
import { AddRuleForm, WinningRulesList, useWinningRules } from '../rules-ui';
import { useSession } from '../session';
import { ACTION_LABELS, ActionChip, Done, Field, PageHead, Problem, fieldError, formError, scopeLabel, useLoad } from '../ui';

const NUMBER_KINDS = ['number', 'prefix', 'anonymous'];

/** Blocked numbers: add, the rules in the order they win, which rule wins for a number, and the caller categories. */
export function BlockedPage() {
  const session = useSession();
  const rules = useWinningRules(NUMBER_KINDS);
  return (
    <section>
      <PageHead title="Blocked numbers">
        Numbers, area codes and wildcards{session.tenant ? ` for ${session.tenant}` : ''}, and what happens to their calls and texts.
      </PageHead>
      {session.me.mayChange && (
        <AddRuleForm
          title="Block a number"
          patternLabel="Number, area code or wildcard"
          patternHint="A number (404-555-1234), an area code (404), area code and exchange (404-555), a wildcard (+1312*) or a comma list of them."
          placeholder="404-555-1234, 404-555, 312*"
          actions={['block', 'challenge', 'busy', 'disconnected', 'voicemail', 'forward', 'allow']}
          withSms
          onAdded={() => {
            rules.reload();
            session.refreshTenants();
          }}
        />
      )}
      <WhichRuleWins />
      <h2 id="rules-heading">Rules in the order they win</h2>
      <p class="hint">
        For a call, the first matching rule here decides: this DID's rules before this company's, then all companies'; an exact number before a prefix; a longer prefix before a shorter one; the
        newest first.
      </p>
      <WinningRulesList rules={rules} noun="rule" what="The rules" removeLabel="Unblock" onChanged={session.refreshTenants} empty="No numbers blocked yet." />
      <Categories />
    </section>
  );
}

/** "Which rule wins for …": explain for a number typed in, to one of the company's DIDs. */
function WhichRuleWins() {
  const session = useSession();
  const dids = session.dids();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState(dids[0] ?? '');
  const [answer, setAnswer] = useState<Decision | null>(null);
  const [error, setError] = useState<unknown>();
  const ask = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setAnswer(null);
    try {
      setAnswer(await get<Decision>('/v1/explain', { from, to }));
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form class="card which-wins" onSubmit={ask} aria-label="Which rule wins">
      <h2>Which rule wins for…</h2>
      <div class="grid">
        <Field label="Calling number" hint="empty: an anonymous caller" error={fieldError(error, 'from')}>
          {(p) => <input {...p} name="from" inputMode="tel" placeholder="+14045551234" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />}
        </Field>
        <Field label="Calling" error={fieldError(error, 'to')}>
          {(p) =>
            dids.length > 0 ? (
              <select {...p} name="to" value={to} onChange={(e) => setTo(e.currentTarget.value)}>
                {dids.map((did) => (
                  <option key={did} value={did}>
                    {did}
                  </option>
                ))}
              </select>
            ) : (
              <input {...p} name="to" inputMode="tel" required placeholder="DID" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            )
          }
        </Field>
        <div class="buttons">
          <button type="submit">Check</button>
        </div>
      </div>
      {formError(error, ['from', 'to']) && <Problem error={error} />}
      {answer && (
        <div class="answer" role="status">
          <p>
            <ActionChip action={answer.action} target={answer.target} />{' '}
            {answer.ruleId !== null ? (
              <>
                by rule <strong>#{answer.ruleId}</strong> ({scopeLabel(answer.scope ?? '')})
              </>
            ) : answer.category ? (
              <>by the {answer.category.replace('_', '-')} category</>
            ) : (
              <>no rule matches</>
            )}
          </p>
          <ol class="reasons">
            {answer.reasons.map((reason, i) => (
              <li key={i}>{reason}</li>
            ))}
          </ol>
        </div>
      )}
    </form>
  );
}

interface Policy {
  readonly scope: string;
  readonly action: string;
  readonly when: string | null;
}
interface CategoryView {
  readonly category: string;
  readonly global: Policy | null;
  readonly own: Policy | null;
  readonly inForce: Policy | null;
}

const CATEGORY_TEXT: Readonly<Record<string, [string, string]>> = {
  anonymous: ['Anonymous', 'no caller ID: withheld, private or unavailable'],
  invalid: ['Invalid', 'a caller ID that cannot be a real number'],
  toll_free: ['Toll-free', '800, 888, 877… numbers, often used by call centres'],
  premium: ['Premium rate', '900 numbers and the like'],
  international: ['International', 'numbers from other countries'],
  neighbor: ['Neighbour', 'the same area code and exchange as the number called: a common spoofing trick'],
  unverified: ['Unverified', 'caller ID not vouched for by the carrier (STIR/SHAKEN C or failed)'],
};
const POLICY_ACTIONS = ['allow', 'challenge', 'block', 'voicemail', 'busy', 'disconnected'];
/** Identify asks a caller for a number: only for callers without a usable one (the API refuses it elsewhere). */
const IDENTIFIABLE = ['anonymous', 'invalid'];
const actionsFor = (category: string) => (IDENTIFIABLE.includes(category) ? [...POLICY_ACTIONS.slice(0, 2), 'identify', ...POLICY_ACTIONS.slice(2)] : POLICY_ACTIONS);

/** Caller categories: Allow / Challenge / Block (and the rest) per company, with the global fallback shown. */
function Categories() {
  const session = useSession();
  // The choice shows at once; it goes back if the agent refuses it.
  const [chosen, setChosen] = useState<Record<string, string>>({});
  const loaded = useLoad(async () => {
    const answer = await get<{ tenant: string | null; categories: CategoryView[] }>('/v1/categories', { tenant: session.tenant });
    setChosen({});
    return answer;
  }, [session.tenant]);
  const [error, setError] = useState<{ category: string; error: unknown } | null>(null);
  const [done, setDone] = useState('');
  const forCompany = session.tenant !== null;
  const mayEdit = session.me.mayChange && (forCompany || session.me.tenants === null);
  const set = async (category: string, action: string | null) => {
    setError(null);
    setDone('');
    setChosen({ ...chosen, [category]: action ?? '' });
    try {
      await put(`/v1/categories/${category}`, { action, ...(forCompany ? { tenant: session.tenant } : {}) });
      setDone(`${CATEGORY_TEXT[category]?.[0] ?? category}: ${action === null ? 'follows the global setting' : ACTION_LABELS[action]}.`);
      loaded.reload();
    } catch (caught) {
      setError({ category, error: caught });
      setChosen(({ [category]: _dropped, ...rest }) => rest);
    }
  };
  return (
    <section class="categories" aria-labelledby="categories-heading">
      <h2 id="categories-heading">Caller categories</h2>
      <p class="hint">
        {forCompany
          ? `What ${session.tenant} does with each kind of caller no rule matched. "Global" follows the setting for all companies.`
          : session.me.tenants === null
            ? 'The global setting: every company without its own follows it. Pick a company to set its own.'
            : 'Pick a company to set its categories.'}
      </p>
      <Problem error={loaded.error} what="Caller categories" />
      {loaded.data && (
        <div class="table-wrap">
          <table class="categories-table stack">
            <thead>
              <tr>
                <th scope="col">Category</th>
                <th scope="col">{forCompany ? `${session.tenant}` : 'Global'}</th>
                {forCompany && <th scope="col">Global fallback</th>}
              </tr>
            </thead>
            <tbody>
              {loaded.data.categories.map((view) => {
                const [label, text] = CATEGORY_TEXT[view.category] ?? [view.category, ''];
                const current = chosen[view.category] ?? (forCompany ? view.own?.action ?? '' : view.global?.action ?? '');
                const problem = error?.category === view.category ? error.error : undefined;
                return (
                  <tr key={view.category} data-category={view.category}>
                    <th scope="row" data-label="Category">
                      {label}
                      <small class="muted block">{text}</small>
                    </th>
                    <td data-label={forCompany ? session.tenant! : 'Global'}>
                      {mayEdit ? (
                        <div class="segmented" role="radiogroup" aria-label={`${label} callers`}>
                          <label class="seg">
                            <input type="radio" name={`cat-${view.category}`} checked={current === ''} onChange={() => void set(view.category, null)} data-write="" />
                            <span>{forCompany ? 'Global' : 'Allow (none)'}</span>
                          </label>
                          {actionsFor(view.category).map((action) => (
                            <label key={action} class={`seg ${action}`}>
                              <input type="radio" name={`cat-${view.category}`} checked={current === action} onChange={() => void set(view.category, action)} data-write="" />
                              <span>{ACTION_LABELS[action]}</span>
                            </label>
                          ))}
                        </div>
                      ) : view.inForce ? (
                        <>
                          <ActionChip action={view.inForce.action} /> {view.own ? '' : <small class="muted">(global)</small>}
                        </>
                      ) : (
                        <span class="muted">Allowed</span>
                      )}
                      {fieldError(problem, 'action') && <small class="field-error" role="alert">{fieldError(problem, 'action')}</small>}
                      {problem !== undefined && formError(problem, ['action']) && <Problem error={problem} />}
                    </td>
                    {forCompany && (
                      <td data-label="Global fallback">{view.global ? <ActionChip action={view.global.action} /> : <span class="muted">Allowed</span>}</td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Done>{done}</Done>
    </section>
  );
}
