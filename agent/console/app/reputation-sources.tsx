import { useState } from 'preact/hooks';
import { del, get, post } from './api';
import { useSession } from './session';
import { Chip, Done, Field, Problem, fieldError, formError, useLoad } from './ui';

type SourceState = 'ok' | 'timing_out' | 'erroring' | 'constant' | 'unused';

interface Source {
  readonly name: string;
  readonly position: number;
  readonly url: string;
  readonly timeoutMs: number;
  readonly weight: number;
  /** How the agent's own lookups found it; absent where the console runs without the agent. */
  readonly health?: { readonly state: SourceState; readonly detail: string };
}

const HEALTH: Readonly<Record<SourceState, { label: string; tone: 'good' | 'bad' | 'warn' | 'muted' }>> = {
  ok: { label: 'Healthy', tone: 'good' },
  timing_out: { label: 'Timing out', tone: 'bad' },
  erroring: { label: 'Erroring', tone: 'bad' },
  constant: { label: 'Same score for everyone', tone: 'warn' },
  unused: { label: 'Not asked yet', tone: 'muted' },
};

const FIELDS = ['name', 'url', 'timeoutMs', 'weight'];

/**
 * The reputation sources card (administrators: the sources serve every company, and a URL
 * may hold a service's key): the order they are listed in, each one's timeout, weight and
 * health; add, move and remove.
 */
export function ReputationSources() {
  const session = useSession();
  const loaded = useLoad(() => get<{ sources: Source[] }>('/v1/reputation/sources'), []);
  const [form, setForm] = useState({ name: '', url: '', timeoutMs: '', weight: '' });
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const change = async (work: () => Promise<string>) => {
    setError(undefined);
    setDone('');
    try {
      setDone(await work());
      loaded.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  const add = (event: Event) => {
    event.preventDefault();
    void change(async () => {
      // Left empty: the agent's default (undefined is not sent).
      const numberOf = (text: string) => (text.trim() === '' ? undefined : Number(text));
      const made = await post<Source>('/v1/reputation/sources', { name: form.name, url: form.url, timeoutMs: numberOf(form.timeoutMs), weight: numberOf(form.weight) });
      setForm({ name: '', url: '', timeoutMs: '', weight: '' });
      return `Added ${made.name}: asked with the others for every caller protection scores.`;
    });
  };
  const move = (source: Source, position: number) =>
    void change(async () => {
      await post(`/v1/reputation/sources/${encodeURIComponent(source.name)}/move`, { position });
      return `Moved ${source.name} to place ${position}.`;
    });
  const remove = (source: Source) =>
    void change(async () => {
      await del(`/v1/reputation/sources/${encodeURIComponent(source.name)}`);
      return `Removed ${source.name}.`;
    });
  const sources = loaded.data?.sources ?? [];
  const mayEdit = session.me.mayChange;
  return (
    <section class="card reputation-sources" aria-labelledby="reputation-heading">
      <h2 id="reputation-heading">Reputation sources</h2>
      <p class="hint">
        Asked at once for a 0–100 score of each caller protection scores (<code>{'{number}'}</code> in the URL is the caller's number); each adds its score × its weight. One
        that keeps timing out or failing, or gives every number the same score, is flagged and not trusted until it recovers.
      </p>
      {mayEdit && !loaded.error && (
        <form class="inline-form" onSubmit={add} aria-label="Add a reputation source" data-write="">
          <Field label="Name" error={fieldError(error, 'name')}>
            {(p) => <input {...p} name="name" required placeholder="nomorobo" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}
          </Field>
          <Field label="URL" error={fieldError(error, 'url')}>
            {(p) => <input {...p} name="url" required type="url" placeholder="https://rep.example/v1/score?number={number}" value={form.url} onInput={(e) => setForm({ ...form, url: e.currentTarget.value })} />}
          </Field>
          <Field label="Timeout (ms)" error={fieldError(error, 'timeoutMs')}>
            {(p) => <input {...p} name="timeoutMs" inputMode="numeric" placeholder="200" value={form.timeoutMs} onInput={(e) => setForm({ ...form, timeoutMs: e.currentTarget.value })} />}
          </Field>
          <Field label="Weight" error={fieldError(error, 'weight')}>
            {(p) => <input {...p} name="weight" inputMode="decimal" placeholder="0.5" value={form.weight} onInput={(e) => setForm({ ...form, weight: e.currentTarget.value })} />}
          </Field>
          <button type="submit" class="primary">
            Add
          </button>
        </form>
      )}
      {formError(error, FIELDS) && <Problem error={error} />}
      <Done>{done}</Done>
      <Problem error={loaded.error} what="The reputation sources" />
      {loaded.data && sources.length === 0 && <p class="empty">No reputation sources: calls are scored without one.</p>}
      {sources.length > 0 && (
        <ol class="plain-list">
          {sources.map((source) => (
            <li key={source.name} data-source={source.name}>
              <span>
                <strong>{source.name}</strong> <small class="muted">{source.timeoutMs} ms, weight {source.weight}</small>
                {source.health && (
                  <span title={source.health.detail}>
                    {' '}
                    <Chip tone={HEALTH[source.health.state].tone}>{HEALTH[source.health.state].label}</Chip>
                  </span>
                )}
                <small class="note url">{source.url}</small>
              </span>
              {mayEdit && (
                <span class="row-actions">
                  <button type="button" class="small" disabled={source.position === 1} onClick={() => move(source, source.position - 1)} aria-label={`Ask ${source.name} earlier`} data-write="">
                    Up
                  </button>
                  <button type="button" class="small" disabled={source.position === sources.length} onClick={() => move(source, source.position + 1)} aria-label={`Ask ${source.name} later`} data-write="">
                    Down
                  </button>
                  <button type="button" class="small" onClick={() => remove(source)} aria-label={`Remove reputation source ${source.name}`} data-write="">
                    Remove
                  </button>
                </span>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
