// The XML dialplan as mod_dialplan_xml hunts it (dialplan_xml_locate, parse_exten), over
// XML that a strict parser read: extensions in order; each condition's field is a caller
// profile field or, when it holds "$", an expanded string; a passing condition adds its
// actions (with $1… from its own match), a failing one its anti-actions; with the default
// break="on-false" a failing condition ends the extension. An extension that matched (or
// ran anti-actions) ends the hunt unless it says continue="true".

import { SaxesParser } from 'saxes';

export interface XmlNode {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
  /** 1-based line of the start tag. */
  readonly line: number;
}

/** Parses XML strictly (saxes: XML 1.0 well-formedness); throws naming the source and position of the first error. */
export function parseXml(text: string, source: string): XmlNode {
  const parser = new SaxesParser({ position: true });
  const root: XmlNode = { name: '#document', attributes: {}, children: [], line: 0 };
  const stack: XmlNode[] = [root];
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= new Error(`${source}: ${error.message}`);
  });
  parser.on('opentag', (tag) => {
    const node: XmlNode = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, children: [], line: parser.line };
    stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(text).close();
  if (failure) throw failure;
  return root;
}

export const childrenNamed = (node: XmlNode, name: string): XmlNode[] => node.children.filter((child) => child.name === name);

/** The `<context name=…>` of a `<section name=…>` in a whole configuration document, as xml_locate finds it. */
export function locateContext(document: XmlNode, section: string, context: string): XmlNode | undefined {
  const top = document.children.find((node) => node.name === 'document');
  const found = top && childrenNamed(top, 'section').find((node) => node.attributes.name === section);
  return found && childrenNamed(found, 'context').find((node) => node.attributes.name === context);
}

export interface DialplanAction {
  readonly application: string;
  /** With $1… already substituted; `${…}` is expanded when the application runs. */
  readonly data: string;
  readonly extension: string;
}

export interface Hunt {
  /** The extensions that proceeded, in order. */
  readonly extensions: string[];
  readonly actions: DialplanAction[];
}

export interface HuntChannel {
  /** A caller-profile field (destination_number, caller_id_number, context, …). */
  lookup(name: string): string | undefined;
  /** switch_channel_expand_variables. */
  expand(text: string): string;
}

export function hunt(context: XmlNode, channel: HuntChannel): Hunt {
  const extensions: string[] = [];
  const actions: DialplanAction[] = [];
  for (const extension of childrenNamed(context, 'extension')) {
    const name = extension.attributes.name ?? 'UNKNOWN';
    const proceed = parseExtension(extension, name, channel, actions);
    if (!proceed) continue;
    extensions.push(name);
    if (extension.attributes.continue !== 'true') break;
  }
  return { extensions, actions };
}

function parseExtension(extension: XmlNode, name: string, channel: HuntChannel, actions: DialplanAction[]): boolean {
  let proceed = false;
  for (const condition of childrenNamed(extension, 'condition')) {
    const field = condition.attributes.field;
    const expression = condition.attributes.expression;
    let match: RegExpExecArray | null = null;
    if (field === undefined || expression === undefined) {
      proceed = true; // a condition with neither always passes
    } else {
      const data = field.includes('$') ? channel.expand(field) : (channel.lookup(field) ?? '');
      match = new RegExp(channel.expand(expression)).exec(data);
      proceed = match !== null;
    }
    const brk = condition.attributes.break ?? 'on-false';
    if (proceed) {
      for (const action of childrenNamed(condition, 'action')) {
        if (action.attributes.inline === 'true') throw new Error(`${name}: inline actions are not modelled`);
        actions.push({ application: action.attributes.application ?? '', data: substitute(action.attributes.data ?? '', match), extension: name });
      }
    } else {
      const anti = childrenNamed(condition, 'anti-action');
      for (const action of anti) actions.push({ application: action.attributes.application ?? '', data: action.attributes.data ?? '', extension: name });
      if (anti.length) proceed = true;
    }
    const passed = match !== null || field === undefined;
    if ((passed && brk === 'on-true') || (!passed && brk === 'on-false') || brk === 'always') break;
  }
  return proceed;
}

/** switch_perform_substitution: $1…$9 from the condition's own match. */
function substitute(data: string, match: RegExpExecArray | null): string {
  return match ? data.replace(/\$(\d)/g, (_, index: string) => match[Number(index)] ?? '') : data;
}
