import { AddRuleForm, WinningRulesList, useWinningRules } from '../rules-ui';
import { useSession } from '../session';
import { PageHead } from '../ui';

const NAME_KINDS = ['name', 'name_word'];

/** Caller-name rules: the caller ID name, by glob (`V9*`) or whole word (`SPAM`); number and address rules outrank them. */
export function CallerNamesPage() {
  const session = useSession();
  const rules = useWinningRules(NAME_KINDS);
  return (
    <section>
      <PageHead title="Caller names">Block by the caller ID name: spoofed robocalls often change their number and keep their name.</PageHead>
      {session.me.mayChange && (
        <AddRuleForm
          title="Block a caller name"
          patternLabel="Caller name"
          patternHint="V9* (names starting with V9), *WARRANTY*, or a word such as SPAM. Case and spacing are ignored; number and address rules outrank name rules."
          placeholder="V9*"
          actions={['block', 'challenge', 'busy', 'disconnected', 'voicemail', 'allow']}
          withSms={false}
          callerName
          onAdded={() => rules.reload()}
        />
      )}
      <h2>Caller-name rules</h2>
      <WinningRulesList rules={rules} noun="caller-name rule" what="The caller-name rules" removeLabel="Delete" empty="No caller-name rules yet." />
    </section>
  );
}
