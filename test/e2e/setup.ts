// Real hosts and the real engine: minutes, not milliseconds.
jest.setTimeout(20 * 60 * 1000);
