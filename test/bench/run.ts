import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDecisions, benchExplain, benchProtection, buildDatabase } from './core';
import { benchApi } from './api';
import { benchConsole } from './console';
import { benchFailover } from './failover';
import { benchFleet } from './fleet';
import { benchAsterisk } from './asterisk';
import { benchFreeSwitch } from './freeswitch';
import { benchFreeSwitchInbound } from './freeswitch-inbound';
import { benchHook } from './http-hook';
import { benchSeveralSwitches } from './several-switches';
import { benchWhatIf } from './whatif';
import { benchNameRules } from './name-rules';
import { benchTrustedCallbacks } from './trusted-callbacks';
import { printTable } from './measure';
import type { Row } from './measure';

/** `npm run bench`: every speed and memory figure, each beside a baseline measured in the same run. */
async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'callguard-bench-'));
  const dbPath = join(dir, 'bench.db');
  const rows: Row[] = [];
  try {
    console.log(`building a database of 1,000,000 rules in ${dir} …`);
    rows.push(...(await buildDatabase(dir, dbPath)));
    rows.push(...benchDecisions(dbPath));
    rows.push(...benchNameRules(dbPath, dir));
    rows.push(...benchTrustedCallbacks(dbPath, dir));
    rows.push(...benchExplain(dbPath, dir));
    rows.push(...(await benchFreeSwitch(dbPath)));
    rows.push(...(await benchFreeSwitchInbound(dbPath)));
    rows.push(...(await benchAsterisk(dbPath)));
    rows.push(...(await benchSeveralSwitches(dbPath)));
    rows.push(...(await benchHook(dbPath)));
    // Before protection's million call-log rows: the copy the fleet starts from is the million rules.
    rows.push(...(await benchFleet(dbPath)));
    rows.push(...benchProtection(dbPath));
    // On a copy with protection on: a week of a million calls replayed.
    rows.push(...(await benchWhatIf(dbPath, dir)));
    rows.push(...(await benchApi(dbPath)));
    rows.push(...(await benchConsole(dbPath)));
    rows.push(...(await benchFailover(dbPath)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('');
  printTable(rows);
  if (rows.some((row) => !row.ok)) process.exitCode = 1;
}

void main();
