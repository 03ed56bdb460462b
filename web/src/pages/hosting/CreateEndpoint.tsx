import { useState } from 'react';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { sagemaker } from '../../app/api.js';
import type { PageProps } from '../../app/router.js';
import { useSubmit } from '../../app/useSubmit.js';
import FormPage from '../../components/FormPage.js';
import { useResourceNames } from '../../components/useOptions.js';
import { nameProblem } from '../../lib/format.js';

export default function CreateEndpoint({ query }: PageProps) {
  const form = useSubmit();
  const configs = useResourceNames('ListEndpointConfigs', 'EndpointConfigs', 'EndpointConfigName');
  const [name, setName] = useState('');
  const [config, setConfig] = useState(query.get('config') ?? '');
  const nameErr = nameProblem(name);
  const configErr = config ? undefined : 'Choose an endpoint configuration.';

  const submit = () =>
    form.submit({
      valid: !nameErr && !configErr,
      send: () => sagemaker('CreateEndpoint', { EndpointName: name, EndpointConfigName: config }),
      success: `Creating endpoint ${name}.`,
      openPath: `/endpoints/${encodeURIComponent(name)}`,
    });

  return (
    <FormPage
      title="Create endpoint"
      submitLabel="Create endpoint"
      cancelPath="/endpoints"
      busy={form.busy}
      error={form.error}
      onSubmit={() => void submit()}
    >
      <Container header={<Header variant="h2">Endpoint</Header>}>
        <SpaceBetween size="l">
          <FormField
            label="Endpoint name"
            description="Clients call /endpoints/<name>/invocations."
            errorText={form.show(nameErr)}
          >
            <Input value={name} onChange={(e) => setName(e.detail.value)} ariaRequired />
          </FormField>
          <FormField label="Endpoint configuration" errorText={form.show(configErr)}>
            <Select
              selectedOption={config ? { label: config, value: config } : null}
              placeholder="Choose an endpoint configuration"
              statusType={configs.loading ? 'loading' : 'finished'}
              empty="No endpoint configurations yet."
              options={configs.names.map((n) => ({ label: n, value: n }))}
              onChange={(e) => setConfig(e.detail.selectedOption.value ?? '')}
              filteringType="auto"
            />
          </FormField>
        </SpaceBetween>
      </Container>
    </FormPage>
  );
}
