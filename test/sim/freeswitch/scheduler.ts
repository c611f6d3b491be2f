// FreeSWITCH's core task scheduler (src/switch_scheduler.c), as sched_transfer,
// sched_hangup-style applications and the sched_del API use it: a task runs once the
// epoch second reaches its runtime, and the task thread looks only every 500 ms
// (switch_queue_pop_timeout of 500000 µs between passes). So a task scheduled "+2"
// runs 1.0 to 2.5 s later, depending on where in its second it was scheduled.
// sched_del only marks a task destroyed; the task thread frees it on its next pass. Until
// then the task is still in the list, and deleting it again counts it again ("+OK Deleted:
// 1" to both of two agents racing for it): a deletion is no claim that only one can win.

const PASS_MS = 500;

interface Task {
  readonly id: number;
  readonly runtime: number;
  readonly group: string;
  readonly run: () => void;
  destroyed: boolean;
}

export class SimScheduler {
  private readonly tasks = new Map<number, Task>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;

  /** switch_scheduler_add_task: `runtime` in epoch seconds; returns the task id. */
  add(runtime: number, group: string, run: () => void): number {
    const id = this.nextId++;
    this.tasks.set(id, { id, runtime, group, run, destroyed: false });
    this.timer ??= setInterval(() => this.pass(), PASS_MS).unref();
    return id;
  }

  /** switch_scheduler_del_task_id: 1 while the task is in the list (deleted already or not), 0 once it ran or was freed. */
  deleteId(id: number): number {
    const task = this.tasks.get(id);
    if (!task) return 0;
    task.destroyed = true;
    return 1;
  }

  /** switch_scheduler_del_task_group. */
  deleteGroup(group: string): number {
    let deleted = 0;
    for (const task of this.tasks.values()) {
      if (task.group !== group) continue;
      task.destroyed = true;
      deleted++;
    }
    return deleted;
  }

  /** Tasks that will still run. */
  get pending(): number {
    return [...this.tasks.values()].filter((task) => !task.destroyed).length;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.tasks.clear();
  }

  private pass(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const task of [...this.tasks.values()]) {
      if (task.destroyed || now < task.runtime) continue;
      this.tasks.delete(task.id);
      task.run();
    }
    for (const task of [...this.tasks.values()]) if (task.destroyed) this.tasks.delete(task.id);
  }
}
