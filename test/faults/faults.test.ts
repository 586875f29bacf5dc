import { DEFAULT_LEG } from "./harness.js";
import { faultSuite } from "./suite.js";

// The fault suite on the client as users run it: `new Etcd` with its built-in transport.
faultSuite(DEFAULT_LEG);
