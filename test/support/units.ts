/** Byte units for tests and the benchmark, written once. */
const KIB = 1024; // bytes
export const MIB = 1024 * KIB; // bytes
export const GIB = 1024 * MIB; // bytes
