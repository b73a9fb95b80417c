// Runs a Flamenco job type script the way Flamenco's Manager does, against a small stand-in of its
// `author` and `job` globals, and prints the authored tasks as JSON.
//
//     node flamenco_stand_in.js JOB_TYPE_SCRIPT '{"batch_file": ..., "shot_count": 9}'
//
// The script runs in a bare V8 context: only the ECMAScript built-ins and the globals Flamenco
// gives (author, print), so a Node-only API in it fails here as it would in the Manager.
"use strict";
const fs = require("fs");
const vm = require("vm");

const [scriptPath, settingsJson] = process.argv.slice(2);
const printed = [];
const author = {
    Task(name, type) {
        const task = { name, type, commands: [], dependencies: [] };
        task.addCommand = (command) => { task.commands.push(command); };
        task.addDependency = (other) => { task.dependencies.push(other.name); };
        return task;
    },
    Command(type, parameters) {
        return { type, parameters };
    },
};
const context = vm.createContext({ author, print: (...args) => printed.push(args.join(" ")) });
// Strict, as the Manager compiles job type scripts.
vm.runInContext(`"use strict";\n${fs.readFileSync(scriptPath, "utf8")}`, context, { filename: scriptPath });

const jobType = vm.runInContext("JOB_TYPE", context);
const settings = {};
for (const setting of jobType.settings) {
    if (setting.default !== undefined) settings[setting.key] = setting.default;
}
Object.assign(settings, JSON.parse(settingsJson));
const tasks = [];
const job = { settings, addTask(task) { tasks.push(task); } };
try {
    context.compileJob(job);
} catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error && error.message || error) }));
    process.exit(0);
}
const clean = tasks.map(({ name, type, commands, dependencies }) => ({ name, type, commands, dependencies }));
process.stdout.write(JSON.stringify({ jobType: { label: jobType.label, settings: jobType.settings }, tasks: clean, printed }));
