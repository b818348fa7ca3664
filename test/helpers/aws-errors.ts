/** An error shaped like the SDK's service exceptions (name, $metadata), for mocked rejections. */
export function awsError(name: string, status = 400, message = `${name} (mock)`): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}
