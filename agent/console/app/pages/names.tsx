import { AddRuleForm, RulesTable, ShowMoreRules, useWinningRules } from '../rules-ui';
import { useSession } from '../session';
import { Loading, PageHead, Problem } from '../ui';

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
      <Problem error={rules.error} what="The caller-name rules" />
      {rules.loading && !rules.rules && <Loading what="Loading rules" />}
      {rules.rules && (
        <>
          <RulesTable
            rules={rules.rules}
            caption={`${rules.more ? 'The first ' : ''}${rules.rules.length} caller-name rule${rules.rules.length === 1 ? '' : 's'}`}
            removeLabel="Delete"
            onChanged={() => rules.reload()}
            empty="No caller-name rules yet."
          />
          <ShowMoreRules rules={rules} />
        </>
      )}
    </section>
  );
}
