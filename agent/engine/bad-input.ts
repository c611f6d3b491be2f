/** Input an operator can fix: reported as one line with exit code 2 (HTTP 400), never a stack trace. */
export class BadInput extends Error {
  override readonly name = 'BadInput';
  constructor(
    message: string,
    /** The input field at fault, when one is: the API's 400 and the console name it. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Runs a parse of one input field: a BadInput it throws names that field. */
export function inField<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof BadInput && error.field === undefined) throw new BadInput(error.message, field);
    throw error;
  }
}
