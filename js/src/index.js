// Everything the booth's cryptography offers, for node (tests, scripts).
export * from './bytes.js';
export * from './group.js';
export * from './hashing.js';
export * from './canonical.js';
export * from './elgamal.js';
export * from './proofs.js';
export * from './entries.js';
export * as codec from './codec.js';
export * from './protocol.js';
export * as threshold from './threshold.js';
export * from './booth.js';
export * from './check.js';
export * from './cosign.js';
