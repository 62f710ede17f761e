// aws-local-stepfunctions targets Node 22; Node 20 lacks Promise.withResolvers (ES2024).
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}
const promiseWithResolvers = <T>(): Resolvers<T> => {
  let resolve!: Resolvers<T>['resolve'];
  let reject!: Resolvers<T>['reject'];
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};
if (!('withResolvers' in Promise)) {
  Object.defineProperty(Promise, 'withResolvers', { value: promiseWithResolvers, configurable: true, writable: true });
}
