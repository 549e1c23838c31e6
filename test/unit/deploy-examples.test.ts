/**
 * The deployment examples users copy (examples/deploy): parsed, and checked
 * for what makes them work: each publishes both layers from the zips the
 * build writes, attaches the standalone layer to a function on an Amazon
 * Linux 2023 runtime of the layer's architecture and the Node layer to a
 * Node.js function, and sets DISPATCH_POST_URI. The npm registry carries no
 * SAM schema, aws-cdk-lib is not a dependency and no HCL parser is, so the
 * CDK file is parsed as TypeScript (esbuild) and the Terraform file is
 * checked block by block.
 */
import { readFileSync } from 'node:fs';
import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const NODE_ZIP = 'lambda-telemetry-otel-layer.zip';
const STANDALONE_X64 = 'lambda-telemetry-otel-standalone-x86_64.zip';
/** The runtimes the README's table gives the standalone layer. */
const AL2023 =
  /^(python3\.(1[2-9])|java(2[1-9])|dotnet([89]|1\d)|ruby3\.([3-9])|provided\.al2023|nodejs(2[2-9])\.x)$/;

const read = (p: string) => readFileSync(`examples/deploy/${p}`, 'utf8');

/** CloudFormation's short-form intrinsics, as plain objects. */
const cfnTags = ['Ref', 'GetAtt', 'Sub', 'Join', 'If', 'Select'].map(
  (name) => ({
    tag: `!${name}`,
    resolve: (value: string) => ({
      [name === 'Ref' ? 'Ref' : `Fn::${name}`]: value,
    }),
  })
);

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

describe('the SAM template', () => {
  const template = parse(read('sam/template.yaml'), {
    customTags: cfnTags,
  }) as {
    Transform: string;
    Resources: Record<string, Resource>;
    Parameters: Record<string, unknown>;
  };
  const resources = Object.entries(template.Resources);
  const layers = new Map(
    resources.filter(([, r]) => r.Type === 'AWS::Serverless::LayerVersion')
  );
  const functions = resources.filter(
    ([, r]) => r.Type === 'AWS::Serverless::Function'
  );

  it('publishes the Node layer and the x86_64 standalone layer from dist/', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    const uris = [...layers.values()].map((l) =>
      String(l.Properties.ContentUri)
    );
    expect(uris).toEqual([
      `../../../dist/${NODE_ZIP}`,
      `../../../dist/${STANDALONE_X64}`,
    ]);
    for (const l of layers.values()) {
      expect(l.Properties.LayerName).toMatch(/^lambda-telemetry-otel/);
      expect(
        (l.Properties.CompatibleRuntimes as string[]).length
      ).toBeLessThanOrEqual(15);
    }
  });

  it('attaches each layer to a function its runtime and architecture can run, with DISPATCH_POST_URI set', () => {
    expect(functions).toHaveLength(2);
    const runtimes: string[] = [];
    for (const [name, fn] of functions) {
      const p = fn.Properties as {
        Runtime: string;
        Architectures: string[];
        Layers: { Ref: string }[];
        Environment: { Variables: Record<string, unknown> };
      };
      runtimes.push(p.Runtime);
      expect(p.Environment.Variables.DISPATCH_POST_URI, name).toEqual({
        Ref: 'CollectorUrl',
      });
      expect(template.Parameters.CollectorUrl).toBeDefined();
      const layer = layers.get(p.Layers[0]?.Ref ?? '');
      expect(layer, `${name}'s layer`).toBeDefined();
      const props = layer?.Properties as {
        ContentUri: string;
        CompatibleRuntimes: string[];
        CompatibleArchitectures: string[];
      };
      expect(props.CompatibleRuntimes).toContain(p.Runtime);
      for (const a of p.Architectures)
        expect(props.CompatibleArchitectures).toContain(a);
      if (props.ContentUri.endsWith(NODE_ZIP))
        expect(p.Runtime).toMatch(/^nodejs2[2-9]\.x$/);
      else for (const r of props.CompatibleRuntimes) expect(r).toMatch(AL2023);
    }
    expect(runtimes.some((r) => r.startsWith('python'))).toBe(true);
  });
});

describe('the CDK snippet', () => {
  const src = read('cdk/telemetry-stack.ts');

  it('is valid TypeScript', async () => {
    await expect(transform(src, { loader: 'ts' })).resolves.toBeDefined();
  });

  it('publishes both layers from dist/ and attaches them with DISPATCH_POST_URI', () => {
    expect(src).toContain(`'${NODE_ZIP}'`);
    expect(src).toContain(`'${STANDALONE_X64}'`);
    expect(src.match(/new lambda\.LayerVersion\(/g)).toHaveLength(2);
    expect(src).toMatch(/layers: \[standaloneLayer\]/);
    expect(src).toMatch(/layers: \[nodeLayer\]/);
    expect(src).toContain('DISPATCH_POST_URI: props.collectorUrl');
    expect(src).toContain('runtime: lambda.Runtime.PYTHON_3_12');
  });
});

describe('the Terraform snippet', () => {
  const src = read('terraform/main.tf');

  /** Top-level blocks: `kind "label" ["label"] { body }`, braces matched outside strings. */
  function blocks(text: string): { head: string; body: string }[] {
    const out: { head: string; body: string }[] = [];
    let depth = 0;
    let inString = false;
    let start = 0;
    let headStart = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '#' && depth === 0) {
        i = text.indexOf('\n', i);
        if (i < 0) break;
        headStart = i + 1;
      } else if (c === '{') {
        if (depth === 0) start = i;
        depth++;
      } else if (c === '}') {
        depth--;
        expect(depth, 'a } with no {').toBeGreaterThanOrEqual(0);
        if (depth === 0) {
          out.push({
            head: text.slice(headStart, start).trim(),
            body: text.slice(start + 1, i),
          });
          headStart = i + 1;
        }
      }
    }
    expect(depth, 'every { closed').toBe(0);
    expect(inString, 'every string closed').toBe(false);
    return out;
  }

  it('has balanced blocks and strings, each a known block kind', () => {
    const heads = blocks(src).map((b) => b.head);
    for (const h of heads)
      expect(h).toMatch(
        /^(terraform|locals|variable "\w+"|resource "\w+" "\w+"|data "\w+" "\w+")$/
      );
  });

  it('publishes both layers from dist/ and attaches each to a function with DISPATCH_POST_URI', () => {
    const bs = blocks(src);
    const layer = (name: string) =>
      bs.find((b) => b.head === `resource "aws_lambda_layer_version" "${name}"`)
        ?.body ?? '';
    expect(layer('telemetry_node')).toContain(`/${NODE_ZIP}"`);
    expect(layer('telemetry_node')).toMatch(
      /source_code_hash\s*=\s*filebase64sha256/
    );
    expect(layer('telemetry_standalone_x86_64')).toContain(
      `/${STANDALONE_X64}"`
    );
    const fns = bs.filter((b) =>
      b.head.startsWith('resource "aws_lambda_function"')
    );
    expect(fns).toHaveLength(2);
    for (const f of fns) {
      expect(f.body).toMatch(/DISPATCH_POST_URI\s*=\s*var\.collector_url/);
      const runtime = /runtime\s*=\s*"([^"]+)"/.exec(f.body)?.[1] ?? '';
      if (f.body.includes('aws_lambda_layer_version.telemetry_node.arn'))
        expect(runtime).toMatch(/^nodejs2[2-9]\.x$/);
      else {
        expect(f.body).toContain(
          'aws_lambda_layer_version.telemetry_standalone_x86_64.arn'
        );
        expect(runtime).toMatch(AL2023);
        expect(f.body).toMatch(/architectures\s*=\s*\["x86_64"\]/);
      }
    }
  });
});
