/** Input an operator can fix: reported as one line with exit code 2 (HTTP 400), never a stack trace. */
export class BadInput extends Error {
  override readonly name = 'BadInput';
}
