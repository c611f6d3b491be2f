import type { Command } from 'commander';
import { CliContext } from './context';

/**
 * Wraps a command body: builds its context from the global options and closes the
 * database afterwards, whatever happened.
 */
export function withContext<A extends unknown[]>(body: (ctx: CliContext, ...args: A) => void | Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const ctx = CliContext.of(command);
    try {
      await body(ctx, ...(args.slice(0, -1) as A));
    } finally {
      await ctx.close();
    }
  };
}
