import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import SpaceBetween from '@cloudscape-design/components/space-between';

/** The first container of the training and model forms: the resource's name and its IAM role. */
export default function NameAndRole(props: {
  title: string;
  nameLabel: string;
  nameDescription: string;
  name: string;
  onNameChange(name: string): void;
  nameError?: string;
  role: string;
  onRoleChange(role: string): void;
}) {
  return (
    <Container header={<Header variant="h2">{props.title}</Header>}>
      <SpaceBetween size="l">
        <FormField
          label={props.nameLabel}
          description={props.nameDescription}
          errorText={props.nameError}
        >
          <Input
            value={props.name}
            onChange={(e) => props.onNameChange(e.detail.value)}
            ariaRequired
          />
        </FormField>
        <FormField
          label="IAM role"
          description="Recorded as SageMaker does; Apiary does not use IAM."
        >
          <Input value={props.role} onChange={(e) => props.onRoleChange(e.detail.value)} />
        </FormField>
      </SpaceBetween>
    </Container>
  );
}
