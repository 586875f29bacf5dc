/**
 * The request headers a Connect `Transport` takes: the fetch API's `HeadersInit`. The global of that name
 * comes only with TypeScript's DOM lib, so the declarations we publish name it through the `Headers`
 * constructor, which `@types/node` (and the DOM lib, and Bun's and Deno's types) declare: with the DOM lib
 * it is the DOM's `HeadersInit`, without it undici's.
 */
export type HeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;
