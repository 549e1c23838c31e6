/**
 * The resource every span and log record carries: who produced the
 * telemetry. Built from the function's environment (through config) and the
 * register response; `faas.instance` is added once Lambda names the
 * instance (initStart / restoreStart `instanceId`).
 */
import type { Attributes } from '@opentelemetry/api';
import { SDK_INFO } from '@opentelemetry/core';
import {
  type Resource,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  ATTR_SERVICE_NAME,
  ATTR_TELEMETRY_SDK_LANGUAGE,
  ATTR_TELEMETRY_SDK_NAME,
  ATTR_TELEMETRY_SDK_VERSION,
} from '@opentelemetry/semantic-conventions';
import {
  ATTR_CLOUD_ACCOUNT_ID,
  ATTR_CLOUD_PLATFORM,
  ATTR_CLOUD_PROVIDER,
  ATTR_CLOUD_REGION,
  ATTR_CLOUD_RESOURCE_ID,
  ATTR_FAAS_INSTANCE,
  ATTR_FAAS_MAX_MEMORY,
  ATTR_FAAS_NAME,
  ATTR_FAAS_VERSION,
  CLOUD_PROVIDER_VALUE_AWS,
  CLOUD_PLATFORM_VALUE_AWS_LAMBDA,
} from './semconv.js';

/**
 * What the resource is built from: the Lambda environment and register's
 * answer (`memoryMb` in MB, AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
 */
export interface ResourceInputs {
  functionName: string | undefined;
  functionVersion: string | undefined;
  memoryMb: number | undefined;
  region: string | undefined;
  accountId: string | undefined;
  /** OTEL_SERVICE_NAME. */
  serviceName: string | undefined;
  /** OTEL_RESOURCE_ATTRIBUTES, already parsed. */
  attributes: Readonly<Record<string, string>>;
  distroVersion: string;
}

/**
 * The resource's attributes (README, "What the spans and log records
 * carry"): cloud.*, faas.*, telemetry.sdk.* and telemetry.distro.*, then
 * OTEL_RESOURCE_ATTRIBUTES over them, then `service.name`
 * (OTEL_SERVICE_NAME, else the attribute, else the function name, else
 * `unknown_service`).
 */
export function resourceAttributes(i: ResourceInputs): Attributes {
  const a: Attributes = {
    [ATTR_CLOUD_PROVIDER]: CLOUD_PROVIDER_VALUE_AWS,
    [ATTR_CLOUD_PLATFORM]: CLOUD_PLATFORM_VALUE_AWS_LAMBDA,
    [ATTR_TELEMETRY_SDK_NAME]: 'opentelemetry',
    [ATTR_TELEMETRY_SDK_LANGUAGE]: 'nodejs',
    [ATTR_TELEMETRY_SDK_VERSION]: SDK_INFO[
      ATTR_TELEMETRY_SDK_VERSION
    ] as string,
    'telemetry.distro.name': 'lambda-telemetry-otel',
    'telemetry.distro.version': i.distroVersion,
  };
  if (i.region) a[ATTR_CLOUD_REGION] = i.region;
  if (i.accountId) a[ATTR_CLOUD_ACCOUNT_ID] = i.accountId;
  if (i.functionName) {
    a[ATTR_FAAS_NAME] = i.functionName;
    if (i.region && i.accountId) {
      a[ATTR_CLOUD_RESOURCE_ID] =
        `arn:aws:lambda:${i.region}:${i.accountId}:function:${i.functionName}`;
    }
  }
  if (i.functionVersion) a[ATTR_FAAS_VERSION] = i.functionVersion;
  if (i.memoryMb !== undefined)
    a[ATTR_FAAS_MAX_MEMORY] = i.memoryMb * 1_048_576;
  // Explicit user attributes win over what we detect; OTEL_SERVICE_NAME wins
  // over service.name in OTEL_RESOURCE_ATTRIBUTES, as the spec says.
  Object.assign(a, i.attributes);
  a[ATTR_SERVICE_NAME] =
    i.serviceName ??
    i.attributes[ATTR_SERVICE_NAME] ??
    i.functionName ??
    'unknown_service';
  return a;
}

/**
 * The resource of `attributes`, with `faas.instance` set to `instanceId`
 * (platform.initStart's) unless the attributes already name one.
 */
export function buildResource(
  attributes: Attributes,
  instanceId?: string
): Resource {
  return resourceFromAttributes(
    instanceId && attributes[ATTR_FAAS_INSTANCE] === undefined
      ? { ...attributes, [ATTR_FAAS_INSTANCE]: instanceId }
      : attributes
  );
}
