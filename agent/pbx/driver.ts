/** A running connection to one PBX: what `callguard serve` starts and stops. */
export interface PbxDriver {
  /** Resolves once the driver accepts calls (listening, or connected and subscribed). */
  start(): Promise<void>;
  /** Stops taking new calls, waits for calls in progress up to `graceMs`, then closes. */
  stop(graceMs?: number): Promise<void>;
  /** Connected to the PBX (a listening outbound server counts as connected). */
  readonly connected: boolean;
  /** Calls being screened right now. */
  readonly inProgress: number;
}

/** Replaces `{name}` placeholders; values are checked by the caller, templates come from the operator. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}
