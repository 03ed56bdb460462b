import { describe, expect, it } from 'vitest';
import { v3DriverCommand } from './runner.js';

describe('the SDK v3 driver command', () => {
  it("runs ModelTrainer's sm_train.sh with bash instead of chmod-ing the read-only channel", () => {
    const v3 = [
      '/bin/bash',
      '-c',
      'chmod +x /opt/ml/input/data/sm_drivers/sm_train.sh && /opt/ml/input/data/sm_drivers/sm_train.sh',
    ];
    expect(v3DriverCommand(v3)).toEqual(['/bin/bash', '/opt/ml/input/data/sm_drivers/sm_train.sh']);
  });

  it('keeps every other command as it is', () => {
    const other = [
      '/bin/bash',
      '-c',
      'chmod +x /opt/ml/input/data/a.sh && /opt/ml/input/data/b.sh',
    ];
    expect(v3DriverCommand(other)).toEqual(other);
    expect(v3DriverCommand(['python', 'train.py'])).toEqual(['python', 'train.py']);
    const outside = ['/bin/bash', '-c', 'chmod +x /etc/x.sh && /etc/x.sh'];
    expect(v3DriverCommand(outside)).toEqual(outside);
  });
});
