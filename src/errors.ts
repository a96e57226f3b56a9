// The one error type of the library. Every error a caller can cause (bad arguments, an image that
// does not decode, weights that do not fit, a config that does not validate, a device or process
// group that is not there) is an IrRcnnError with a stable `code`, in TypeScript and in the addon:
// native/addon hands errors back as instances of this class, so callers match codes, not text.

/** The stable error codes; the README has a table of what each means. */
export const ERROR_CODES = [
  'ERR_INVALID_ARGUMENT',
  'ERR_IMAGE_DECODE',
  'ERR_WEIGHTS',
  'ERR_CONFIG',
  'ERR_DEVICE',
  'ERR_DISTRIBUTED',
  'ERR_DISPOSED',
  'ERR_NATIVE',
] as const;

export type IrRcnnErrorCode = (typeof ERROR_CODES)[number];

export class IrRcnnError extends Error {
  constructor(
    readonly code: IrRcnnErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IrRcnnError';
  }
}

/** Whether `error` is an IrRcnnError, optionally of the given code. */
export function isIrRcnnError(error: unknown, code?: IrRcnnErrorCode): error is IrRcnnError {
  return error instanceof IrRcnnError && (code === undefined || error.code === code);
}
