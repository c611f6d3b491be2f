/**
 * Operator settings that are not rules (remembered challenge passes), on either backend:
 * each change one transaction with its audit entry.
 */
export interface SettingBackend {
  /** Sets a setting; audited `add` or `change` with the value before. */
  set(key: string, value: string): Promise<void>;
}
