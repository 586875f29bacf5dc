// Connect's own declarations (@connectrpc/connect, which etcd-ts's types name for Transport and
// ConnectError) use the DOM lib's `HeadersInit`, which @types/node does not declare. A project whose lib
// has no "DOM" and that checks libraries (skipLibCheck: false) declares it once, like this.
export {};

declare global {
  type HeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;
}
