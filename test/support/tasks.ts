import type TestAgent from 'supertest/lib/agent';
import { bearer } from './factories';

export interface TaskBody {
  id: string;
  title: string;
  description: string | null;
  status: string;
  priority: string;
  dueAt: string | null;
  ownerId: string;
  assigneeId: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Creates a task through the API as the holder of `token`. */
export async function createTask(
  http: TestAgent,
  token: string,
  body: Record<string, unknown> = {},
): Promise<TaskBody> {
  const res = await http
    .post('/api/v1/tasks')
    .set(...bearer(token))
    .send({ title: 'A task', ...body })
    .expect(201);
  return res.body as TaskBody;
}
