import { useState } from 'preact/hooks';
import { ApiError, get, put, serves, uploadCsv } from '../api';
import { useSession } from '../session';
import { Done, Field, Loading, NotAvailable, PageHead, Problem, fieldError, formError, formatCount, useLoad } from '../ui';

interface List {
  readonly name: string;
  readonly rules: number;
  readonly enabled: boolean;
  /** Whether the asker may switch it: every rule of the list is theirs to change. */
  readonly mayChange?: boolean;
}

/** Lists: named groups of rules (an import, a shared blocklist), switched on and off together, imported and exported as CSV. */
export function ListsPage() {
  const session = useSession();
  // A switch moves at once; it moves back if the agent refuses.
  const [switching, setSwitching] = useState<Record<string, boolean>>({});
  const lists = useLoad(async () => {
    const answer = await get<{ lists: List[] }>('/v1/lists');
    setSwitching({});
    return answer;
  }, [session.tenants]);
  const [error, setError] = useState<{ name: string; error: unknown } | null>(null);
  const [done, setDone] = useState('');
  const toggle = async (list: List) => {
    setError(null);
    setDone('');
    setSwitching({ ...switching, [list.name]: !list.enabled });
    try {
      await put(`/v1/lists/${encodeURIComponent(list.name)}`, { enabled: !list.enabled });
      setDone(`List ${list.name} ${list.enabled ? 'disabled: its rules no longer apply' : 'enabled'}.`);
      lists.reload();
    } catch (caught) {
      setError({ name: list.name, error: caught });
      setSwitching(({ [list.name]: _refused, ...rest }) => rest);
    }
  };
  return (
    <section>
      <PageHead title="Lists">Named groups of rules, such as an imported blocklist, switched on and off together and exported as CSV.</PageHead>
      {session.me.mayChange && <Import onImported={lists.reload} />}
      <h2>Lists</h2>
      <Problem error={lists.error} what="Lists" />
      {lists.loading && !lists.data && <Loading what="Loading lists" />}
      <Done>{done}</Done>
      {lists.data && lists.data.lists.length === 0 && <p class="empty">No lists yet. Give rules a list name when you add or import them.</p>}
      {lists.data && lists.data.lists.length > 0 && (
        <div class="table-wrap">
          <table class="lists stack">
            <thead>
              <tr>
                <th scope="col">List</th>
                <th scope="col">Rules</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {lists.data.lists.map((list) => (
                <tr key={list.name} data-list={list.name}>
                  <th scope="row" data-label="List">
                    {list.name}
                  </th>
                  <td data-label="Rules">{formatCount(list.rules)}</td>
                  <td data-label="State">
                    {session.me.mayChange && list.mayChange !== false ? (
                      <label class="switch">
                        <input type="checkbox" role="switch" checked={switching[list.name] ?? list.enabled} onChange={() => void toggle(list)} aria-label={`List ${list.name} enabled`} data-write="" />
                        <span class="slider" aria-hidden="true" />
                        <span>{switching[list.name] ?? list.enabled ? 'Enabled' : 'Disabled'}</span>
                      </label>
                    ) : (
                      <span>{list.enabled ? 'Enabled' : 'Disabled'}</span>
                    )}
                    {error?.name === list.name && <Problem error={error.error} />}
                  </td>
                  <td data-label="Export">
                    <a class="button small" href={`/v1/lists/${encodeURIComponent(list.name)}/export`} download={`${list.name}.csv`}>
                      Export CSV
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** CSV import with a progress bar: all rows or none, and a bad row named by its line. */
function Import({ onImported }: { onImported: () => void }) {
  const served = useLoad(() => serves('POST', '/v1/rules/import'), []);
  const [file, setFile] = useState<File | null>(null);
  const [list, setList] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setError(undefined);
    setDone('');
    setProgress(0);
    try {
      const text = await file.text();
      const answer = await uploadCsv<{ imported: number; skipped: number }>('/v1/rules/import', { list: list || undefined }, text, setProgress);
      const count = answer.imported;
      setDone(`Imported ${formatCount(count)} rule${count === 1 ? '' : 's'} from ${file.name}${answer.skipped ? `; skipped ${formatCount(answer.skipped)} rows without a new, complete number` : ''}.`);
      onImported();
    } catch (caught) {
      setError(caught);
      setProgress(null);
    }
  };
  const lineError = formError(error, ['list']);
  if (served.data === false) {
    return (
      <section class="card import" aria-label="Import rules from CSV">
        <h2>Import rules from CSV</h2>
        <NotAvailable what="Importing CSV from the console" />
      </section>
    );
  }
  return (
    <form class="card import" onSubmit={submit} aria-label="Import rules from CSV" data-write="">
      <h2>Import rules from CSV</h2>
      <p class="hint">
        Columns as <code>callguard rules export</code> writes them: pattern, action, target, scope, sms, note, list, expires, when, tz (a header row names them). Every row is added, or none is.
      </p>
      <div class="grid">
        <Field label="CSV file">
          {(p) => <input {...p} type="file" name="file" accept=".csv,text/csv" required onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />}
        </Field>
        <Field label="Into list" hint="optional: put every imported rule in this list" error={fieldError(error, 'list')}>
          {(p) => <input {...p} name="list" maxLength={64} value={list} onInput={(e) => setList(e.currentTarget.value)} />}
        </Field>
      </div>
      {progress !== null && (
        <div class="progress">
          <label for="import-progress">Importing</label>
          <progress id="import-progress" max={1} value={progress}>
            {Math.round(progress * 100)}%
          </progress>
        </div>
      )}
      {lineError && (error instanceof ApiError && error.missing ? <NotAvailable what="Importing CSV from the console" /> : (
        <p class="problem import-error" role="alert">
          {lineError}
        </p>
      ))}
      <div class="buttons">
        <button type="submit" class="primary" disabled={!file || (progress !== null && progress < 1 && !error && !done)}>
          Import
        </button>
        <Done>{done}</Done>
      </div>
    </form>
  );
}
