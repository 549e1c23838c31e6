// lambda-telemetry-otel with the AWS CDK (aws-cdk-lib v2, TypeScript): both
// layers published from this project's dist/ (run `npm run build` first), a
// Python function on the standalone layer and a Node.js function on the Node
// layer. Add the stack to your app: new TelemetryStack(app, 'Telemetry',
// { collectorUrl: 'https://otlp.example.com:4318' }).
import * as path from 'node:path';
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/** Where `npm run build` wrote the zips; adjust to your checkout. */
const DIST = path.resolve(__dirname, '../../../dist');

export interface TelemetryStackProps extends StackProps {
  /** Your OTLP/HTTP receiver (the extension posts to /v1/logs, /v1/traces and /v1/metrics under it). */
  collectorUrl: string;
}

export class TelemetryStack extends Stack {
  constructor(scope: Construct, id: string, props: TelemetryStackProps) {
    super(scope, id, props);

    // For nodejs22.x / nodejs24.x only: runs on the function's own Node.
    const nodeLayer = new lambda.LayerVersion(this, 'TelemetryNodeLayer', {
      layerVersionName: 'lambda-telemetry-otel',
      code: lambda.Code.fromAsset(
        path.join(DIST, 'lambda-telemetry-otel-layer.zip')
      ),
      compatibleRuntimes: [
        lambda.Runtime.NODEJS_22_X,
        lambda.Runtime.NODEJS_24_X,
      ],
      compatibleArchitectures: [
        lambda.Architecture.X86_64,
        lambda.Architecture.ARM_64,
      ],
    });

    // Any Amazon Linux 2023 runtime: carries its own Node, one per
    // architecture (lambda-telemetry-otel-standalone-arm64.zip for ARM_64).
    const standaloneLayer = new lambda.LayerVersion(
      this,
      'TelemetryStandaloneLayer',
      {
        layerVersionName: 'lambda-telemetry-otel-standalone-x86_64',
        code: lambda.Code.fromAsset(
          path.join(DIST, 'lambda-telemetry-otel-standalone-x86_64.zip')
        ),
        compatibleRuntimes: [
          lambda.Runtime.PYTHON_3_12,
          lambda.Runtime.PYTHON_3_13,
          lambda.Runtime.JAVA_21,
          lambda.Runtime.DOTNET_8,
          lambda.Runtime.RUBY_3_3,
          lambda.Runtime.RUBY_3_4,
          lambda.Runtime.PROVIDED_AL2023,
          lambda.Runtime.NODEJS_22_X,
          lambda.Runtime.NODEJS_24_X,
        ],
        compatibleArchitectures: [lambda.Architecture.X86_64],
      }
    );

    const environment = { DISPATCH_POST_URI: props.collectorUrl };

    new lambda.Function(this, 'PythonFunction', {
      runtime: lambda.Runtime.PYTHON_3_12,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(
        'def handler(event, context):\n    print("hello from Python")\n    return {"ok": True}\n'
      ),
      layers: [standaloneLayer],
      environment,
    });

    new lambda.Function(this, 'NodeFunction', {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromInline(
        "exports.handler = async () => { console.log('hello from Node.js'); return { ok: true }; };"
      ),
      layers: [nodeLayer],
      environment,
    });
  }
}
