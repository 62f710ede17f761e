/** Types for asl-validator 4 (the package ships none): validates an Amazon States Language definition. */
declare module 'asl-validator' {
  interface AslValidatorOptions {
    readonly checkPaths?: boolean;
    readonly checkArn?: boolean;
  }
  interface AslValidatorResult {
    readonly isValid: boolean;
    readonly errors: readonly unknown[];
    errorsText(separator?: string): string;
  }
  function validator(definition: unknown, options?: AslValidatorOptions): AslValidatorResult;
  export = validator;
}
