// Drives the REST data API with the real jsforce package and prints one JSON line of
// observations for the Rust test to check.
//
// usage: node jsforce_records.js LOGIN_URL USERNAME BULK   (stdin: password+token)
//   BULK: how many extra contacts to create (in 200-record collections) before paging.
'use strict';
const jsforce = require('jsforce');

function errName(err) {
  return err.errorCode || err.name;
}

async function main() {
  const [loginUrl, username, bulkArg] = process.argv.slice(2);
  const password = require('fs').readFileSync(0, 'utf8').split('\n')[0];
  const conn = new jsforce.Connection({ loginUrl, version: '59.0' });
  const out = {};
  const start = new Date(Date.now() - 60 * 1000);
  await conn.login(username, password);
  const contacts = conn.sobject('Contact');

  const created = await contacts.create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.org', Gator_Score__c: 7.5 });
  out.created = created;
  const got = await contacts.retrieve(created.id);
  out.retrieved = { Name: got.Name, Email: got.Email, Score: got.Gator_Score__c, type: got.attributes.type };
  out.updated = await contacts.update({ Id: created.id, LastName: 'King', Title: 'Countess' });
  const after = await contacts.retrieve(created.id, { fields: ['Name', 'Title'] });
  out.afterUpdate = { Name: after.Name, Title: after.Title, keys: Object.keys(after).sort() };

  const describe = await contacts.describe();
  out.describeFields = describe.fields.map((f) => f.name);
  out.describeScore = describe.fields.find((f) => f.name === 'Gator_Score__c');
  const global = await conn.describeGlobal();
  out.globalNames = global.sobjects.map((s) => s.name);

  // The session at the current API version (66.0 refuses SOAP login(), not sessions):
  // every object's describe, and Contact's list views with their results.
  const current = new jsforce.Connection({ instanceUrl: conn.instanceUrl, accessToken: conn.accessToken, version: '66.0' });
  out.describedAll = {};
  for (const { name } of (await current.describeGlobal()).sobjects) {
    const d = await current.sobject(name).describe();
    out.describedAll[name] = { fields: d.fields.length, keyPrefix: d.keyPrefix, createable: d.createable };
  }
  const views = await current.sobject('Contact').listviews();
  const all = views.listviews.find((v) => v.developerName === 'AllContacts');
  const viewDescribe = await current.sobject('Contact').listview(all.id).describe();
  const viewResults = await current.sobject('Contact').listview(all.id).results();
  out.listView = {
    label: all.label,
    query: viewDescribe.query,
    size: viewResults.size,
    columns: viewResults.columns.map((c) => c.fieldNameOrPath),
    firstRowHasId: viewResults.records.length > 0 && viewResults.records[0].columns.some((c) => c.fieldNameOrPath === 'Id'),
  };

  const account = await conn.sobject('Account').create({ Name: 'Analytical Engines' });
  const child = await contacts.create({ LastName: 'Babbage', AccountId: account.id });
  const joined = await conn.query(`SELECT Name, Account.Name FROM Contact WHERE Id = '${child.id}'`);
  out.parent = joined.records[0].Account && joined.records[0].Account.Name;

  const bulk = Number(bulkArg);
  let saved = 0;
  let failedInBatch = 0;
  for (let i = 0; i < bulk; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(bulk, i + 200); j++) {
      batch.push({ LastName: `Bulk ${j}`, Email: `bulk${j}@example.org` });
    }
    if (i === 0) batch[7] = { FirstName: 'no last name' };
    const results = await contacts.create(batch, { allOrNone: false });
    saved += results.filter((r) => r.success).length;
    failedInBatch += results.filter((r) => !r.success).length;
    if (i === 0) out.batchError = results[7].errors[0];
  }
  out.bulkSaved = saved;
  out.bulkFailed = failedInBatch;

  const records = [];
  const query = conn.query('SELECT Id, Email FROM Contact ORDER BY Email');
  await new Promise((resolve, reject) => {
    query.on('record', (r) => records.push(r)).on('end', resolve).on('error', reject).run({ autoFetch: true, maxFetch: 100000 });
  });
  out.fetched = records.length;
  out.totalSize = query.totalSize;
  out.distinct = new Set(records.map((r) => r.Id)).size;

  const end = new Date(Date.now() + 60 * 1000);
  const upd = await contacts.updated(start.toISOString(), end.toISOString());
  out.updatedHasCreated = upd.ids.includes(created.id);
  out.updatedHasLatest = typeof upd.latestDateCovered === 'string';
  await contacts.destroy(created.id);
  const del = await contacts.deleted(start.toISOString(), end.toISOString());
  out.deletedIds = del.deletedRecords.map((d) => d.id);
  try {
    await contacts.retrieve(created.id);
    out.afterDelete = 'found';
  } catch (err) {
    out.afterDelete = errName(err);
  }

  try {
    await contacts.create({ FirstName: 'No Last' });
    out.requiredError = 'created';
  } catch (err) {
    out.requiredError = errName(err);
  }
  try {
    await conn.query('SELECT Id FRM Contact');
    out.malformed = 'ran';
  } catch (err) {
    out.malformed = errName(err);
    out.malformedMessage = err.message;
  }

  // A dead session: jsforce logs in again with the stored credentials and retries once.
  conn.accessToken = `${conn.accessToken.split('!')[0]}!expired`;
  const again = await conn.query('SELECT COUNT() FROM Account');
  out.afterRelogin = again.totalSize;
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.log(JSON.stringify({ fatal: true, name: errName(err), message: err.message }));
});
