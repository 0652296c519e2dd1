// The directory the committed guest binaries were built under on the project's build machine.
// A path on one machine means nothing in another checkout: a guest binary must not carry it
// (test/guests/guests.test.ts) and no source or doc may name it (test/docs.test.ts). This file is
// the one place that spells it.
export const BUILD_MACHINE_DIR = "/work/";
