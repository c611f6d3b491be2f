// Reader for the reference transcripts in shared/reference/freeswitch-esl/*.txt:
// each block is a marker line "===== <DIR> t=+0.010s bytes=N (label) =====" followed
// by exactly N verbatim bytes, so blocks are cut by byte count, never by text.

export interface TranscriptBlock {
  /** e.g. "FS -> CLIENT", "CLIENT -> FS", "FS -> AGENT", "AGENT -> FS", "SOCKET CLOSED". */
  direction: string;
  /** True for bytes FreeSWITCH sent. */
  fromSwitch: boolean;
  timeMs: number;
  label: string;
  data: Buffer;
}

const MARKER = /^===== (.+?) t=\+([\d.]+)s bytes=(\d+)(?: \((.*)\))? =====$/;

export function parseTranscript(content: Buffer): TranscriptBlock[] {
  const blocks: TranscriptBlock[] = [];
  let pos = 0;
  while (pos < content.length) {
    const nl = content.indexOf(0x0a, pos);
    const lineEnd = nl < 0 ? content.length : nl;
    const line = content.subarray(pos, lineEnd).toString('utf8');
    pos = lineEnd + 1;
    const m = MARKER.exec(line);
    if (!m) continue;
    const len = Number(m[3]);
    const data = Buffer.from(content.subarray(pos, pos + len));
    pos += len;
    const direction = m[1]!;
    blocks.push({
      direction,
      fromSwitch: direction.startsWith('FS ->'),
      timeMs: Math.round(Number(m[2]) * 1000),
      label: m[4] ?? '',
      data,
    });
  }
  return blocks;
}

/** All bytes one side sent, concatenated in order, as a socket would have delivered them. */
export function streamFrom(blocks: readonly TranscriptBlock[], fromSwitch: boolean): Buffer {
  return Buffer.concat(blocks.filter((b) => b.fromSwitch === fromSwitch && b.data.length > 0).map((b) => b.data));
}
