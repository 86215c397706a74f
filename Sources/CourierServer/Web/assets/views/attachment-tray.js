// The files waiting above the composer: chosen with the attach button, dropped on the
// conversation or pasted. Each starts uploading at once (so it is often done by the time the
// caption is typed), shows its progress, and can be removed (which cancels its upload). Sending
// takes them all into one message.
import { h, replaceChildren } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { Upload } from '../lib/uploads.js';
import { uploadSummary } from './upload-item.js';

/** `onChange()` is called when files are added or removed (the composer then shows send or mic). */
export function attachmentTray({ onChange }) {
  const list = h('ul', { class: 'attachment-tray', id: 'attachment-tray', 'aria-label': 'Files to send', hidden: true });
  /** [{upload, item, off}] in the order chosen. */
  let entries = [];

  function renderItem(entry) {
    replaceChildren(
      entry.item,
      uploadSummary(entry.upload),
      h(
        'button',
        { type: 'button', class: 'icon-button tray-remove', 'aria-label': `Remove ${entry.upload.fileName}`, on: { click: () => remove(entry) } },
        icon('close'),
      ),
    );
    entry.item.dataset.state = entry.upload.state;
  }

  function render() {
    list.hidden = entries.length === 0;
    replaceChildren(list, entries.map((entry) => entry.item));
  }

  /** Adds files (a FileList or an array of File/Blob with `options` for each, like a kind). */
  function add(files, options = {}) {
    for (const file of files) {
      const upload = new Upload(file, options);
      const entry = { upload, item: h('li', { class: 'tray-item', dataset: { key: upload.key } }), off: null };
      entry.off = upload.on(() => renderItem(entry));
      renderItem(entry);
      entries.push(entry);
      upload.start().catch(() => {}); // a failure shows in the item (and sending tries again)
    }
    render();
    onChange();
  }

  function remove(entry) {
    entry.off();
    entry.upload.cancel();
    entries = entries.filter((e) => e !== entry);
    render();
    onChange();
  }

  /** Hands the uploads over (to a message being sent) and empties the tray without cancelling them. */
  function take() {
    const uploads = entries.map((entry) => {
      entry.off();
      return entry.upload;
    });
    entries = [];
    render();
    onChange();
    return uploads;
  }

  /** Cancels and forgets everything (leaving the chat). */
  function clear() {
    for (const entry of entries) {
      entry.off();
      entry.upload.cancel();
    }
    entries = [];
    render();
  }

  return {
    element: list,
    add,
    take,
    clear,
    get count() {
      return entries.length;
    },
  };
}
