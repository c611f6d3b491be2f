// The shipped Asterisk .conf files, read the way Asterisk 22 reads them (main/config.c for
// comments, sections, directives and settings; pbx/pbx_config.c for exten/same lines): no
// line Asterisk would misread or drop, no `;` that cuts a value short, and install
// comments that work as written on a stock Asterisk 22. The checker itself is shown to
// catch each mistake it looks for.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PLAIN_INCLUDE, isDialplan } from './sim/asterisk/conf';
import { confValue, dialplanFromConf, parseAsteriskConf, parseChannelvars, type ParsedConf } from './sim/asterisk';

const CONF_DIR = path.resolve(__dirname, '../dialplan/asterisk');
const FILES = fs
  .readdirSync(CONF_DIR)
  .filter((name) => name.endsWith('.conf'))
  .sort();
const read = (name: string) => parseAsteriskConf(fs.readFileSync(path.join(CONF_DIR, name), 'utf8'), name);
const messages = (text: string) => parseAsteriskConf(text, 'test.conf').problems.map((p) => `${p.line}: ${p.message}`);

/** Keys res_ari registers for ari.conf (res/ari/config.c, 22.10.1). A [general] with any other key is not taken as the general object at all. */
const ARI_GENERAL_KEYS = new Set(['type', 'auth_realm', 'allowed_origins', 'channelvars', 'enabled', 'pretty', 'websocket_write_timeout']);
const ARI_USER_KEYS = new Set(['type', 'password', 'read_only', 'password_format', 'permit', 'deny', 'acl']);
/** [general] keys main/http.c reads (tls* aside). */
const HTTP_KEYS = new Set(['servername', 'enabled', 'enablestatic', 'enable_static', 'enable_status', 'bindport', 'bindaddr', 'prefix', 'redirect', 'sessionlimit', 'session_inactivity', 'session_keep_alive']);

/** What the comments tell the operator: where to copy the file, and what to #include. */
function installNotes(parsed: ParsedConf): { copyTo: string[]; includes: string[] } {
  const text = parsed.comments.map((c) => c.text).join('\n');
  return {
    copyTo: [...text.matchAll(/\/etc\/asterisk\/(\S+?)[.,)]?(?=\s|$)/g)].map((m) => m[1]!),
    includes: [...text.matchAll(/#include\s+(\S+)/g)].map((m) => m[1]!),
  };
}

describe('every shipped dialplan/asterisk/*.conf', () => {
  it('is there: the dialplan, its feature-code and text contexts, ari.conf and http.conf', () => {
    expect(FILES).toEqual(['ari.conf', 'block-last-callguard.conf', 'extensions.conf', 'http.conf', 'messages-callguard.conf', 'outbound-callguard.conf']);
  });

  it.each(FILES)('%s: every line is a comment, section, directive or setting, and every value pairs its (), [] and {}', (name) => {
    const parsed = read(name);
    expect(parsed.problems).toEqual([]);
    expect(parsed.sections.length).toBeGreaterThan(0);
    // No value still holds a ";": each one in the files is a comment, none is escaped data.
    for (const section of parsed.sections) for (const entry of section.entries) expect(entry.value).not.toMatch(/;/);
  });

  it.each(FILES)('%s: the install comments copy it into /etc/asterisk under a plain name, and #include that name', (name) => {
    const parsed = read(name);
    const { copyTo, includes } = installNotes(parsed);
    expect(copyTo.length).toBeGreaterThan(0);
    for (const target of copyTo) expect(target).toMatch(PLAIN_INCLUDE);
    if (isDialplan(parsed)) {
      // A dialplan snippet goes beside extensions.conf and is #included from it, under its own name.
      expect(copyTo).toHaveLength(1);
      expect(copyTo[0]).not.toBe('extensions.conf');
      expect(includes).toEqual([copyTo[0]]);
    } else {
      expect(copyTo).toEqual([name]);
      expect(includes).toEqual([]);
    }
  });

  it('the dialplan snippets do not overwrite each other, and no context is defined twice (Asterisk would merge them)', () => {
    const snippets = FILES.map(read).filter(isDialplan);
    const targets = snippets.map((parsed) => installNotes(parsed).copyTo[0]);
    expect(new Set(targets).size).toBe(snippets.length);
    const contexts = snippets.flatMap((parsed) => parsed.sections.map((s) => s.name));
    expect(contexts.sort()).toEqual([
      'callguard-features',
      'callguard-inbound',
      'callguard-inbound-pair',
      'callguard-messages',
      'callguard-messages-deliver',
      'callguard-normal',
      'callguard-outbound',
      'callguard-voicemail',
    ]);
  });

  it('every label a GotoIf() or Goto() names in its own extension exists there', () => {
    const dialplan = dialplanFromConf(...FILES.map(read).filter(isDialplan));
    let checked = 0;
    for (const [context, extensions] of dialplan) {
      for (const extension of extensions) {
        const labels = new Set(extension.priorities.map((p) => p.label).filter(Boolean));
        for (const step of extension.priorities) {
          if (!/^goto(if)?$/i.test(step.app)) continue;
          const branches = /^gotoif$/i.test(step.app) ? (step.data.split('?')[1] ?? '').split(':') : [step.data];
          for (const branch of branches) {
            if (branch === '' || branch.includes(',') || /^\d+$/.test(branch)) continue;
            expect(labels.has(branch), `${context},${extension.pattern}: label ${branch} (${step.source})`).toBe(true);
            checked += 1;
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it('[callguard-inbound] sets the SIP facts on PJSIP calls only, over GotoIf(), then enters Stasis(callguard)', () => {
    const inbound = dialplanFromConf(read('extensions.conf')).get('callguard-inbound')!;
    expect(inbound.map((e) => e.pattern)).toEqual(['_[+0-9].']);
    expect(inbound[0]!.priorities.map((p) => [p.priority, p.label ?? '', `${p.app}(${p.data})`])).toEqual([
      [1, '', 'NoOp(callguard screens a call to ${FILTER(+0-9,${EXTEN})})'],
      [2, '', 'GotoIf($["${CHANNEL(channeltype)}" != "PJSIP"]?screen)'],
      [3, '', 'Set(CALLGUARD_SOURCE_IP=${CHANNEL(pjsip,remote_addr)})'],
      [4, '', 'Set(CALLGUARD_SIP_FROM=${PJSIP_HEADER(read,From)})'],
      [5, '', 'Set(CALLGUARD_PAI=${PJSIP_HEADER(read,P-Asserted-Identity)})'],
      // A carrier's attestation headers, then Asterisk's own verification only where res_stir_shaken is loaded and verified something.
      [6, '', 'Set(CALLGUARD_P_ATTESTATION=${PJSIP_HEADER(read,P-Attestation-Indicator)})'],
      [7, '', 'Set(CALLGUARD_X_ATTESTATION=${PJSIP_HEADER(read,X-Attestation-Info)})'],
      [8, '', 'GotoIf($["${IFMODULE(res_stir_shaken.so)}" != "1"]?screen)'],
      [9, '', 'GotoIf($["${STIR_SHAKEN(count)}" = "0"]?screen)'],
      [10, '', 'Set(CALLGUARD_STIR_SHAKEN=verify_result=${STIR_SHAKEN(0,verify_result)},attestation=${STIR_SHAKEN(0,attestation)})'],
      [11, 'screen', 'Stasis(callguard)'],
      [12, '', 'ExecIf($["${STASISSTATUS}" = "FAILED"]?Log(WARNING,callguard is not connected: the call to ${FILTER(+0-9,${EXTEN})} goes through unscreened))'],
      [13, '', 'Goto(callguard-normal,${FILTER(+0-9,${EXTEN})},1)'],
    ]);
  });

  it('[callguard-inbound-pair] takes the same steps, then agent A, agent B when A failed over or handed the call back, then the normal route', () => {
    const dialplan = dialplanFromConf(read('extensions.conf'));
    const pair = dialplan.get('callguard-inbound-pair')!;
    const steps = (context: string) => dialplan.get(context)![0]!.priorities.map((p) => [p.priority, p.label ?? '', `${p.app}(${p.data})`]);
    expect(pair.map((e) => e.pattern)).toEqual(['_[+0-9].']);
    // Up to Stasis(): the SIP facts exactly as for a single agent.
    expect(steps('callguard-inbound-pair').slice(0, 10)).toEqual(steps('callguard-inbound').slice(0, 10));
    expect(steps('callguard-inbound-pair').slice(10)).toEqual([
      [11, 'screen', 'Stasis(callguard-a)'],
      [12, '', 'GotoIf($["${STASISSTATUS}" = "FAILED"]?agent_b)'],
      [13, '', 'GotoIf($["${CALLGUARD_STOPPING}" != "yes"]?through)'],
      [14, 'agent_b', 'Stasis(callguard-b)'],
      [15, 'through', 'ExecIf($["${STASISSTATUS}" = "FAILED"]?Log(WARNING,callguard is not connected: the call to ${FILTER(+0-9,${EXTEN})} goes through unscreened))'],
      [16, '', 'Goto(callguard-normal,${FILTER(+0-9,${EXTEN})},1)'],
    ]);
    // Only applications the simulator runs, so the pair tests run this very context.
    expect(new Set(pair[0]!.priorities.map((p) => p.app))).toEqual(new Set(['NoOp', 'GotoIf', 'Set', 'Stasis', 'ExecIf', 'Goto']));
  });

  it('ari.conf: only keys res_ari registers (else it skips [general] whole), and channelvars without spaces or PJSIP functions', () => {
    const ari = read('ari.conf');
    for (const section of ari.sections) {
      const known = section.name === 'general' ? ARI_GENERAL_KEYS : ARI_USER_KEYS;
      for (const entry of section.entries) expect(known.has(entry.key), `[${section.name}] ${entry.key}`).toBe(true);
    }
    expect(confValue(ari, 'callguard', 'type')).toBe('user');
    const line = confValue(ari, 'general', 'channelvars')!;
    expect(line).not.toMatch(/\s/);
    expect(parseChannelvars(line).filter((name) => /PJSIP|pjsip/.test(name))).toEqual([]);
  });

  it('http.conf: only keys the HTTP server reads, bound to loopback on the port callguard uses', () => {
    const httpConf = read('http.conf');
    for (const entry of httpConf.sections.flatMap((s) => s.entries)) expect(HTTP_KEYS.has(entry.key), entry.key).toBe(true);
    expect([confValue(httpConf, 'general', 'enabled'), confValue(httpConf, 'general', 'bindaddr'), confValue(httpConf, 'general', 'bindport')]).toEqual(['yes', '127.0.0.1', '8088']);
  });
});

describe('the checker catches what Asterisk would misread', () => {
  it('a literal ";" in a value: the parser cuts the line there, and the checker says so', () => {
    expect(messages('[c]\nexten => s,1,Set(X=a;b)\n')).toEqual([expect.stringMatching(/^2: exten: "\(" at column 8 is never closed \(cut short by a ";"\? write \\; for a literal one\)$/)]);
    expect(messages('[c]\nexten => s,1,Log(NOTICE,${X};done)\n')).toHaveLength(1);
    // Escaped, it is data: the backslash goes, the ";" stays.
    const escaped = parseAsteriskConf('[c]\nexten => s,1,Set(X=a\\;b)\n');
    expect(escaped.problems).toEqual([]);
    expect(escaped.sections[0]!.entries[0]!.value).toBe('s,1,Set(X=a;b)');
  });

  it('block comments: ";--" ... "--;" hides whole lines; a stray "--;" would hide the rest of the file', () => {
    const hidden = parseAsteriskConf('[c]\n;-- exten => s,1,Set(X=a;b)\n exten => s,2,Bad(\n--;\nexten => s,1,NoOp(x) ;-- mid --; \n');
    expect(hidden.problems).toEqual([]);
    expect(hidden.sections[0]!.entries.map((e) => e.value)).toEqual(['s,1,NoOp(x)']);
    expect(messages('[c]\nexten => s,1,NoOp(a--;b)\n')[0]).toMatch(/^2: "--;" with no block comment open/);
    expect(messages('[c]\n;-- never closed\nexten => s,1,NoOp()\n')).toEqual([expect.stringMatching(/block comment is never closed/)]);
  });

  it('lines that are no section, directive or setting', () => {
    expect(messages('[c]\nexten s,1,NoOp()\n')).toEqual([expect.stringMatching(/^2: not a section, directive or setting/)]);
    expect(messages('x = 1\n')).toEqual([expect.stringMatching(/^1: a setting before any \[section\]/)]);
    expect(messages('[c\n')).toEqual([expect.stringMatching(/no closing|without '\]'/)]);
    expect(messages('[c] extra\n')).toEqual([expect.stringMatching(/text after the section header is ignored/)]);
    expect(messages('[c](tpl)\n')).toEqual([expect.stringMatching(/template "tpl" is not defined/)]);
    expect(messages('[tpl](!)\nx = 1\n[c](tpl)\ny = 2\n')).toEqual([]);
    expect(messages('[c]\n = 1\n')).toEqual([expect.stringMatching(/no name before/)]);
  });

  it('values whose brackets do not pair up', () => {
    expect(messages('[c]\nexten => s,1,NoOp(${EXTEN)\n')).toHaveLength(1);
    expect(messages('[c]\nexten => s,1,GotoIf($["${X}" = "1"?a)\n')).toHaveLength(1);
    expect(messages('[c]\nexten => s,1,NoOp(a)b)\n')).toHaveLength(1);
    expect(messages('[general]\nchannelvars = CALLERID(pres\n')).toHaveLength(1);
  });

  it('exten/same lines that do not split into pattern, priority and App(args)', () => {
    expect(messages('[c]\nexten => s,1,Answer\n')).toEqual([expect.stringMatching(/application "Answer" without "\(\.\.\.\)"/)]);
    expect(messages('[c]\nexten => s,1,NoOp(a) x\n')).toEqual([expect.stringMatching(/text after NoOp\(\.\.\.\)/)]);
    expect(messages('[c]\nsame => n,NoOp()\n')).toEqual([expect.stringMatching(/"same =>" with no "exten =>"/)]);
    expect(messages('[c]\nexten => s,n,NoOp()\n')).toEqual([expect.stringMatching(/priority "n" on the first line/)]);
    expect(messages('[c]\nexten => s,one,NoOp()\n')).toEqual([expect.stringMatching(/invalid priority "one"/)]);
    expect(messages('[c]\nexten => s,1(x,NoOp(a))\n')).toEqual([expect.stringMatching(/label missing/)]);
    expect(messages('[c]\nexten => s,1(a),NoOp()\n same => n(a),NoOp()\n')).toEqual([expect.stringMatching(/label "a" used twice/)]);
    expect(messages('[c]\nexten => s,1,NoOp()\nfoo => bar\n')).toEqual([expect.stringMatching(/"foo" is not a dialplan keyword/)]);
    expect(messages('[c]\nexten => _.,1,NoOp()\n')).toEqual([expect.stringMatching(/catches h, i, s and t/)]);
    expect(messages('[c]\nexten => _[+0-9].,1,NoOp()\n same => n(x),Set(A=${B:0:3})\nexten => 100,hint,PJSIP/100\ninclude => other\n')).toEqual([]);
  });

  it('#include of anything but a plain file name in /etc/asterisk, and #exec', () => {
    expect(messages('#include extensions_callguard.conf\n#include "extensions_callguard.conf"\n')).toEqual([]);
    for (const bad of ['../extensions_callguard.conf', '/tmp/extensions_callguard.conf', 'callguard/extensions.conf', '"extensions callguard.conf"', 'extensions_callguard', '']) {
      expect(messages(`#include ${bad}\n`), bad).toEqual([expect.stringMatching(/is not a plain file name/)]);
    }
    expect(messages('#exec /usr/bin/make-dialplan\n')).toEqual([expect.stringMatching(/#exec runs a program/)]);
    expect(messages('#inclde x.conf\n')).toEqual([expect.stringMatching(/unknown directive/)]);
  });
});
