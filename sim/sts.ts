import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessKeyFromAuthorization } from './ecr/protocol.ts';

/** One AssumeRole call as the endpoint saw it. */
export interface AssumeRoleCall {
  roleArn: string;
  roleSessionName: string;
  /** The access key the caller signed with (its base credentials). */
  callerAccessKeyId: string | undefined;
  /** The temporary access key handed back. */
  issuedAccessKeyId: string;
}

export interface StsSimulator {
  endpoint: string;
  calls(): readonly AssumeRoleCall[];
  /** The temporary access key AssumeRole hands out for a role (stable per role). */
  accessKeyFor(roleArn: string): string;
  close(): Promise<void>;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
}

/**
 * A simulated AWS STS endpoint answering AssumeRole in the AWS Query protocol (form-encoded request,
 * XML answer), so `ecr.assumeRoles` can be exercised end to end through the SDK's real
 * fromTemporaryCredentials: the ECR simulator then sees requests signed with the role's key.
 */
export async function startStsSimulator(
  options: { host?: string; now?: () => number } = {},
): Promise<StsSimulator> {
  const now = options.now ?? Date.now;
  const calls: AssumeRoleCall[] = [];
  const accessKeyFor = (roleArn: string) =>
    `ASIA${createHash('sha256').update(roleArn).digest('hex').slice(0, 16).toUpperCase()}`;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const reply = (status: number, xml: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(xml);
      };
      if (form.get('Action') !== 'AssumeRole') {
        reply(400, errorXml('InvalidAction', `Could not find operation ${form.get('Action') ?? ''}`));
        return;
      }
      const roleArn = form.get('RoleArn') ?? '';
      const session = form.get('RoleSessionName') ?? '';
      const match = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(roleArn);
      if (!match) {
        reply(400, errorXml('ValidationError', `${roleArn} is not a valid role ARN`));
        return;
      }
      const issued = accessKeyFor(roleArn);
      calls.push({
        roleArn,
        roleSessionName: session,
        callerAccessKeyId: accessKeyFromAuthorization(req.headers.authorization),
        issuedAccessKeyId: issued,
      });
      const expiration = new Date(now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      reply(
        200,
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>${issued}</AccessKeyId><SecretAccessKey>simulated-secret</SecretAccessKey><SessionToken>simulated-session-token</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::${match[1]}:assumed-role/${match[2]}/${xmlEscape(session)}</Arn><AssumedRoleId>AROASIMULATED:${xmlEscape(session)}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${options.host ?? '127.0.0.1'}:${port}`,
    calls: () => calls,
    accessKeyFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
