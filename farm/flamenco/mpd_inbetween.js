// MPD Inbetween: a Flamenco 3 job type that runs a batch of inbetween shots on the farm.
//
// Install: copy this file into the `scripts/` folder next to the Flamenco Manager executable and
// restart the Manager (docs/farm.md). A batch folder comes from Blender's Export Batch for Farm or
// `python -m mpd_backend batch-init`; each task runs `run-batch` on a contiguous chunk of its shots,
// with the model loaded once per task. A task run again skips the shots already complete.
//
// Plain ES2015 for Flamenco's embedded JavaScript engine: no Node API.

const JOB_TYPE = {
    label: "MPD Inbetween",
    description: "Inbetweens for a batch of shots (a batch.json made by MPD Inbetween)",
    settings: [
        { key: "batch_file", type: "string", subtype: "file_path", required: true,
          description: "The batch's batch.json, on storage every worker sees" },
        { key: "shot_count", type: "int32", required: true,
          description: "How many shots the batch has (Export Batch for Farm prints it)" },
        { key: "shots_per_task", type: "int32", default: 4,
          description: "Shots per task: each task loads the model once, so more shots per task load it less often, fewer spread the batch over more workers" },
        { key: "backend_python", type: "string", default: "{mpd_python}",
          description: "The Python of the MPD backend environment on the workers (a Manager variable by default)" },
    ],
};

function compileJob(job) {
    const settings = job.settings;
    const chunks = shotChunks(settings.shot_count, settings.shots_per_task);
    for (let i = 0; i < chunks.length; i++) {
        job.addTask(authorShotsTask(settings, chunks[i]));
    }
}

// [first, last] shot numbers (from 1, both included) of each task, in order.
function shotChunks(shotCount, shotsPerTask) {
    const count = Number(shotCount);
    const perTask = Number(shotsPerTask);
    if (!(count >= 1) || Math.floor(count) !== count) {
        throw new Error(`shot_count must be a whole number of shots, at least 1 (got ${shotCount})`);
    }
    if (!(perTask >= 1) || Math.floor(perTask) !== perTask) {
        throw new Error(`shots_per_task must be a whole number, at least 1 (got ${shotsPerTask})`);
    }
    const chunks = [];
    for (let first = 1; first <= count; first += perTask) {
        chunks.push([first, Math.min(first + perTask - 1, count)]);
    }
    return chunks;
}

// One task: `run-batch` on one chunk of shots. Named by its shots, so the Manager's task list reads
// "inbetween shots 5-8" and a failed chunk is easy to find and re-queue.
function authorShotsTask(settings, chunk) {
    const range = chunk[0] === chunk[1] ? `${chunk[0]}` : `${chunk[0]}-${chunk[1]}`;
    const task = author.Task(`inbetween shots ${range}`, "misc");
    task.addCommand(author.Command("exec", {
        exe: settings.backend_python,
        args: ["-m", "mpd_backend", "run-batch", settings.batch_file, "--shots", range],
    }));
    return task;
}
