import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../platform/config';
import { searchAttributes } from './search-attributes';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

/**
 * Registers the namespace and the custom search attributes. Safe to run any number of times: what
 * exists is left alone, so `npm start`, the test harness and a deployment job all call it.
 */
export async function registerTemporalConfig(options: { address: string; namespace: string; retentionDays?: number }) {
  const connection = await Connection.connect({ address: options.address });
  try {
    const { namespaces } = await connection.workflowService.listNamespaces({});
    if (!namespaces.some((ns) => ns.namespaceInfo?.name === options.namespace)) {
      await connection.workflowService
        .registerNamespace({
          namespace: options.namespace,
          workflowExecutionRetentionPeriod: msToTs(`${options.retentionDays ?? 7} days`),
        })
        .catch((error: { code?: number }) => {
          if (error.code !== 6) throw error; // ALREADY_EXISTS: another process won the race
        });
    }
    const existing = await connection.operatorService.listSearchAttributes({ namespace: options.namespace });
    const missing = Object.fromEntries(
      Object.entries(searchAttributes)
        .filter(([name]) => !(name in (existing.customAttributes ?? {})))
        .map(([name, type]) => [name, IndexedValueType[`INDEXED_VALUE_TYPE_${type}`]]),
    );
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace: options.namespace, searchAttributes: missing });
    }
    return { added: Object.keys(missing) };
  } finally {
    await connection.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadConfig();
  const { added } = await registerTemporalConfig({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  console.log(`namespace ${config.TEMPORAL_NAMESPACE} ready; search attributes added: ${added.join(', ') || 'none'}`);
}
