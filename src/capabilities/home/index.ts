/** Home: the App Home tab, what each visitor sees of the apps and of their requests. */
export { createHomeFeature } from './feature';
