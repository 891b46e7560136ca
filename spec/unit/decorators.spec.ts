import { DecoratorUsageError, Persistent, PersistentHandler } from '../../src';
import { fieldSpecsOf } from '../../src/decorators/fieldSpecs';
import { lambdaContext, readItem, recordingClient, useDynalite, uniqueKey } from '../support/dynalite';

const dynamo = useDynalite();

class Base extends PersistentHandler<void, unknown> {
  @Persistent() fromBase = 'base';
  async handler(): Promise<unknown> {
    return undefined;
  }
}

class Child extends Base {
  @Persistent() fromChild = 1;
  override async handler() {
    this.fromBase = 'changed by child';
    this.fromChild = 2;
    return undefined;
  }
}

describe('@Persistent() (legacy decorators, as compiled by ts-jest here)', () => {
  it('registers fields per class, with subclasses inheriting their parents’ fields', () => {
    expect(fieldSpecsOf(Base).map((spec) => spec.name)).toEqual(['fromBase']);
    expect(fieldSpecsOf(Child).map((spec) => spec.name)).toEqual(['fromBase', 'fromChild']);
  });

  it('persists inherited fields of a subclass', async () => {
    const tableKey = uniqueKey('inherit');
    const client = recordingClient(dynamo.endpoint);
    await Child.bind({ client, tableKey, tableName: 'Decorators' })(undefined, lambdaContext());
    expect((await readItem(client, 'Decorators', tableKey))?.value?.M).toEqual({
      fromBase: { S: 'changed by child' },
      fromChild: { N: '2' },
    });
  });

  it('refuses a static field, naming it', () => {
    const define = () => {
      class Bad extends PersistentHandler {
        @Persistent() static total = 0;
        async handler() {
          return Bad.total;
        }
      }
      return Bad;
    };
    expect(define).toThrow(DecoratorUsageError);
    expect(define).toThrow(/static field "total"/);
  });

  it('refuses a method and an accessor, naming them', () => {
    const method = () => {
      class Bad extends PersistentHandler {
        @Persistent() compute() {
          return 1;
        }
        async handler() {
          return undefined;
        }
      }
      return Bad;
    };
    expect(method).toThrow(/"compute" \(a method\)/);
    const accessor = () => {
      class Bad extends PersistentHandler {
        @Persistent() get value() {
          return 1;
        }
        async handler() {
          return undefined;
        }
      }
      return Bad;
    };
    expect(accessor).toThrow(/"value" \(an accessor\)/);
  });

  it('refuses a type option that is not a function returning the class', () => {
    expect(() => Persistent({ type: 'Session' as never })).toThrow(/type: \(\) => Session/);
  });

  it('leaves a handler constructed with new (a unit test) as a plain object: update() only assigns', async () => {
    const child = new Child();
    await child.update({ fromChild: 5 });
    await child.flush();
    expect(child.fromChild).toBe(5);
    expect(Object.getOwnPropertyDescriptor(child, 'fromChild')?.value).toBe(5);
  });

  it('says nothing about new outside Lambda (a unit test), and says it once, naming the fix, in Lambda', async () => {
    const emit = jest.spyOn(process, 'emitWarning');
    try {
      class Quiet extends Base {}
      new Quiet();
      expect(emit).not.toHaveBeenCalled();
      process.env.AWS_LAMBDA_FUNCTION_NAME = 'unit-test';
      class Loud extends Base {}
      new Loud();
      new Loud();
      expect(emit).toHaveBeenCalledTimes(1);
      expect(String(emit.mock.calls[0]![0])).toContain('Loud was constructed with new in a Lambda environment');
      expect(String(emit.mock.calls[0]![0])).toContain('export const handler = Loud.bind();');
      // The instance bind() constructs on the first invocation is persisted: no warning for that.
      emit.mockClear();
      class Bound extends Base {}
      await Bound.bind({ tableName: 'Decorators', tableKey: uniqueKey('bound'), client: recordingClient(dynamo.endpoint) })(undefined, lambdaContext());
      expect(emit).not.toHaveBeenCalled();
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      emit.mockRestore();
    }
  });

  it('bind() refuses a class without a handler method', () => {
    const NotAHandler = class {} as unknown as typeof Base;
    expect(() => PersistentHandler.bind.call(NotAHandler)).toThrow(/subclass of PersistentHandler that implements handler/);
  });
});
