import { useState } from 'preact/hooks';
import { get } from '../api';
import type { CallPage, Rule } from '../api';
import { AddRuleForm, WinningRulesList, useWinningRules } from '../rules-ui';
import { useSession } from '../session';
import { Loading, PageHead, Problem, formatTime, useLoad } from '../ui';
import { CallerCell } from './activity';

const ADDRESS_KINDS = ['ip', 'sip'];

/** Addresses: rules on the caller's signalling IP (or CIDR range) and SIP From address, each with the attempts it stopped. */
export function AddressesPage() {
  const session = useSession();
  const rules = useWinningRules(ADDRESS_KINDS);
  return (
    <section>
      <PageHead title="Addresses">Block by where a call comes from: the IP address or range that sent it, or the SIP address in its From header.</PageHead>
      {session.me.mayChange && (
        <AddRuleForm
          title="Block an address"
          patternLabel="IP address, CIDR range or SIP address"
          patternHint="203.0.113.7, 203.0.113.0/24, 2001:db8::/32, sip:robo@dialer.example or a comma list of them."
          placeholder="203.0.113.0/24"
          actions={['block', 'challenge', 'busy', 'disconnected', 'voicemail', 'allow']}
          withSms={false}
          onAdded={() => rules.reload()}
        />
      )}
      <h2>Address rules</h2>
      <WinningRulesList rules={rules} noun="address rule" what="The address rules" removeLabel="Delete" extra={(rule) => <Entries rule={rule} />} empty="No address rules yet." />
    </section>
  );
}

/** View entries: every attempt this rule stopped, from the call log. */
function Entries({ rule }: { rule: Rule }) {
  const [open, setOpen] = useState(false);
  return (
    <div class="entries">
      <button type="button" class="small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide entries' : 'View entries'}
      </button>
      {open && <EntryList rule={rule} />}
    </div>
  );
}

function EntryList({ rule }: { rule: Rule }) {
  const page = useLoad(() => get<CallPage>('/v1/calls', { rule: rule.id, limit: 20 }), [rule.id]);
  if (page.error) return <Problem error={page.error} what="Entries" />;
  if (!page.data) return <Loading what="Loading entries" />;
  if (page.data.calls.length === 0) return <p class="empty small">Nothing stopped by this rule yet.</p>;
  return (
    <div class="entry-list">
      <ul>
        {page.data.calls.map((call) => (
          <li key={call.id}>
            <time dateTime={new Date(call.at).toISOString()}>{formatTime(call.at)}</time> <CallerCell call={call} /> <span class="muted">from {call.ip ?? call.sipFrom ?? '—'} to {call.did ?? '—'}</span>
          </li>
        ))}
      </ul>
      <a href={`/activity?rule=${rule.id}`}>{page.data.next ? 'All entries in Activity' : 'Open in Activity'}</a>
    </div>
  );
}
