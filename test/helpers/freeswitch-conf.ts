/**
 * A FreeSWITCH conf folder laid out like the stock ("vanilla") one where it matters to
 * callguard — freeswitch.xml including dialplan/*.xml and chatplan/*.xml at section level,
 * public.xml including public/*.xml inside its context, default.xml including default/*.xml
 * — with callguard's files installed exactly as their own comments and the README say.
 * Loading it runs FreeSWITCH's preprocessor (emulated) and a strict XML parser.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { preprocess } from '../sim/freeswitch/preprocess';
import { locateContext, parseXml } from '../sim/freeswitch/xml-dialplan';
import type { XmlNode } from '../sim/freeswitch/xml-dialplan';
import { repoRoot } from './run-cli';

export const SHIPPED = join(repoRoot, 'dialplan', 'freeswitch');

/** Where the README and each file's comment tell the operator to put it (relative to conf/). */
export const INSTALL = {
  outbound: 'dialplan/public/00_callguard.xml',
  inbound: 'dialplan/public/00_callguard.xml',
  blockLast: 'dialplan/default/00_callguard_block_last.xml',
  outboundCalls: 'dialplan/default/00_callguard_outbound_calls.xml',
  chatplan: 'chatplan/default/00_callguard.xml',
} as const;

/** The line the chatplan instructions add as the first line inside the chatplan's default context. */
export const CHATPLAN_INCLUDE_LINE = '<X-PRE-PROCESS cmd="include" data="default/*.xml"/>';

const FREESWITCH_XML = `<?xml version="1.0"?>
<document type="freeswitch/xml">
  <section name="dialplan" description="Regex/XML Dialplan">
    <X-PRE-PROCESS cmd="include" data="dialplan/*.xml"/>
  </section>
  <section name="chatplan" description="Regex/XML Chatplan">
    <X-PRE-PROCESS cmd="include" data="chatplan/*.xml"/>
  </section>
</document>
`;

const PUBLIC_XML = `<include>
  <context name="public">
    <extension name="unloop">
      <condition field="\${unroll_loops}" expression="^true$"/>
      <condition field="\${sip_looped_call}" expression="^true$">
        <action application="deflect" data="\${destination_number}"/>
      </condition>
    </extension>
    <extension name="outside_call" continue="true">
      <condition>
        <action application="set" data="outside_call=true"/>
      </condition>
    </extension>
    <extension name="public_extensions">
      <condition field="destination_number" expression="^(10[01][0-9])$">
        <action application="transfer" data="$1 XML default"/>
      </condition>
    </extension>
    <X-PRE-PROCESS cmd="include" data="public/*.xml"/>
  </context>
</include>
`;

/** The operator's own DID routing, in public/ after callguard's file. */
const PUBLIC_DID_XML = `<include>
  <extension name="did-reception">
    <condition field="destination_number" expression="^\\+?(1?5551230000)$">
      <action application="bridge" data="user/1000"/>
    </condition>
  </extension>
</include>
`;

const DEFAULT_XML = `<include>
  <context name="default">
    <extension name="Local_Extension">
      <condition field="destination_number" expression="^(10[01][0-9])$">
        <action application="bridge" data="user/$1"/>
      </condition>
    </extension>
    <X-PRE-PROCESS cmd="include" data="default/*.xml"/>
  </context>
</include>
`;

/** A stock-like file already in default/: callguard's 00_ file sorts ahead of it. */
const DEFAULT_EXAMPLE_XML = `<include>
  <extension name="example-feature">
    <condition field="destination_number" expression="^\\*9999$">
      <action application="answer"/>
    </condition>
  </extension>
</include>
`;

const CHATPLAN_DEFAULT_XML = (firstLine: string) => `<?xml version="1.0" encoding="utf-8"?>
<include>
  <context name="default">
    ${firstLine}

    <extension name="demo">
      <condition field="to" expression="^(.*)$">
        <action application="reply" data="Hello, you said: \${body}"/>
      </condition>
    </extension>

  </context>
</include>
`;

export interface ConfTree {
  readonly dir: string;
  load(): { document: XmlNode; warnings: string[]; files: string[] };
  context(section: 'dialplan' | 'chatplan', name: string): XmlNode;
}

/**
 * A conf folder with the stock layout; `files` maps conf-relative paths to the shipped
 * file to copy there. `chatplanFirstLine` is what the operator adds inside the chatplan's
 * default context (nothing by default).
 */
export function stockConf(dir: string, files: Readonly<Record<string, string>>, chatplanFirstLine = ''): ConfTree {
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('freeswitch.xml', FREESWITCH_XML);
  write('dialplan/public.xml', PUBLIC_XML);
  write('dialplan/public/50_did.xml', PUBLIC_DID_XML);
  write('dialplan/default.xml', DEFAULT_XML);
  write('dialplan/default/01_example.xml', DEFAULT_EXAMPLE_XML);
  write('chatplan/default.xml', CHATPLAN_DEFAULT_XML(chatplanFirstLine));
  for (const [path, shipped] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    copyFileSync(join(SHIPPED, shipped), join(dir, path));
  }
  const load = () => {
    const { text, warnings, files: read } = preprocess(join(dir, 'freeswitch.xml'));
    return { document: parseXml(text, 'freeswitch.xml after preprocessing'), warnings, files: read };
  };
  return {
    dir,
    load,
    context(section, name) {
      const found = locateContext(load().document, section, name);
      if (!found) throw new Error(`no context ${name} in section ${section}`);
      return found;
    },
  };
}
