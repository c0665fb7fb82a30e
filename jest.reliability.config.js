/** Reliability suites (faults, abuse, load): `npm run test:reliability`, one file at a time. */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testRegex: ['test/reliability/.*\\.rel-spec\\.ts$'],
  maxWorkers: 1,
  testTimeout: 180000,
};
