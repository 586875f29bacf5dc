import { GRPC_JS_LEG } from "./harness.js";
import { faultSuite } from "./suite.js";

// The same suite with `EtcdOptions.transport` set to etcd-ts/grpc-js (its own file: runs beside the other).
faultSuite(GRPC_JS_LEG);
