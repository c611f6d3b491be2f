import { types } from 'pg';
import type { CustomTypesConfig } from 'pg';

const INT8 = 20;

/**
 * bigint columns (ids, ms timestamps, counts) read as JavaScript numbers, as
 * better-sqlite3 gives them, so a row reads the same from either backend. pg's default
 * is a string; a value beyond 2^53 (which callguard never writes) comes as a BigInt
 * rather than silently rounded.
 */
export const numericTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 && format !== 'binary') {
      return (text: string) => {
        const value = Number(text);
        return Number.isSafeInteger(value) ? value : BigInt(text);
      };
    }
    return types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};
