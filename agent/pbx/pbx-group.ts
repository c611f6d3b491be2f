import type { Logger } from '../log/logger';
import { Backoff } from './backoff';
import type { PbxDriver } from './driver';

/** One PBX connection of the agent: its name from the config, its kind, and how to make its driver. */
export interface PbxMember {
  readonly name: string;
  readonly kind: string;
  make(): PbxDriver;
}

/** How one connection stands, for /healthz and the metrics. */
export interface PbxState {
  readonly name: string;
  readonly kind: string;
  readonly connected: boolean;
  readonly inProgress: number;
}

interface Running {
  readonly member: PbxMember;
  driver: PbxDriver;
  readonly backoff: Backoff;
  retry: NodeJS.Timeout | undefined;
}

/**
 * Every PBX connection of one agent, each started, retried and stopped on its own: one
 * switch down never disturbs calls on the others. Each driver already reconnects a lost
 * or unreachable switch by itself; what it refuses to start (a wrong password, a port in
 * use) ends `serve` when it is the only switch, as it always has, but with several only
 * that switch is reported (as an error, with its name) and tried again with a new driver,
 * 1 s doubling to 30 s, while the others serve.
 */
export class PbxGroup implements PbxDriver {
  private readonly running: Running[];
  private stopping = false;

  constructor(
    members: readonly PbxMember[],
    private readonly logger: Logger,
  ) {
    this.running = members.map((member) => ({ member, driver: member.make(), backoff: new Backoff(), retry: undefined }));
  }

  async start(): Promise<void> {
    const only = this.running.length === 1 ? this.running[0] : undefined;
    if (only) return only.driver.start();
    await Promise.all(this.running.map((entry) => this.startOne(entry)));
  }

  private async startOne(entry: Running): Promise<void> {
    try {
      await entry.driver.start();
      entry.backoff.reset();
    } catch (error) {
      if (this.stopping) return;
      const retryInMs = entry.backoff.next();
      this.logger.error({ err: error, pbxName: entry.member.name, retryInMs }, `cannot start PBX connection ${entry.member.name}; the others serve meanwhile`);
      await entry.driver.stop(0).catch(() => undefined);
      entry.retry = setTimeout(() => {
        entry.retry = undefined;
        if (this.stopping) return;
        entry.driver = entry.member.make();
        void this.startOne(entry);
      }, retryInMs);
    }
  }

  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    for (const entry of this.running) clearTimeout(entry.retry);
    await Promise.all(this.running.map((entry) => entry.driver.stop(graceMs)));
  }

  /** Every connection up. */
  get connected(): boolean {
    return this.running.every((entry) => entry.driver.connected);
  }

  get inProgress(): number {
    return this.running.reduce((sum, entry) => sum + entry.driver.inProgress, 0);
  }

  states(): PbxState[] {
    return this.running.map(({ member, driver }) => ({ name: member.name, kind: member.kind, connected: driver.connected, inProgress: driver.inProgress }));
  }
}
