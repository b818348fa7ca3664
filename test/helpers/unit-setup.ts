// Adds aws-sdk-client-mock matchers (toHaveReceivedCommandWith, ...) to expect.
import 'aws-sdk-client-mock-vitest/extend';

// Unit tests never reach AWS: any call that escapes a mock goes to a closed loopback port with
// dummy credentials, never to a developer's real account.
Object.assign(process.env, {
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'unit-test',
  AWS_SECRET_ACCESS_KEY: 'unit-test',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
});
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
