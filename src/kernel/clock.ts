/** The time, as epoch milliseconds. Passed in wherever time matters, so tests use a fake clock. */
export type Clock = () => number;
